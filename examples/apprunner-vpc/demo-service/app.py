"""demo-service: inserts and lists users in the Aurora PostgreSQL database.

The database credentials live in a Secrets Manager secret created by the
demoDb addon; its ARN reaches the service as DEMO_DB_SECRET_ARN.
"""
import json
import os

import boto3
from flask import Flask, redirect, render_template, request
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    email = Column(String(254), nullable=False)


def database_uri():
    secret_arn = os.environ["DEMO_DB_SECRET_ARN"]
    client = boto3.client("secretsmanager")
    secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    return (
        f"postgresql://{secret['username']}:{secret['password']}"
        f"@{secret['host']}:{secret['port']}/{secret['dbname']}"
    )


app = Flask(__name__)
engine = None
Session = None


def session():
    global engine, Session
    if Session is None:
        engine = create_engine(database_uri(), pool_pre_ping=True)
        Base.metadata.create_all(engine)
        Session = sessionmaker(bind=engine)
    return Session()


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/")
def index():
    return render_template("index.html")


@app.post("/users")
def add_user():
    with session() as s:
        s.add(User(name=request.form["name"], email=request.form["email"]))
        s.commit()
    return redirect("/users")


@app.get("/users")
def list_users():
    with session() as s:
        users = s.query(User).order_by(User.id).all()
    return render_template("users.html", users=users)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
