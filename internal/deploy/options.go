package deploy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"
)

// Option configures a Planner or a Deployer.
type Option func(*options) error

type options struct {
	sha, runID      string
	app             string
	account, region string
	uploader        Uploader
	siteBucket      SiteBucketAPI
	siteCDN         SiteCDNAPI
	jobs            int
	minDelay        time.Duration
	maxDelay        time.Duration
	createTimeout   time.Duration
	busyTimeout     time.Duration
	deployTimeout   time.Duration
	poll            time.Duration
	recreateFailed  bool
	keepChangeSets  bool
	requireFP       string
	reviewed        map[string]Reviewed
	// allowAllDestructive and allowDestroyTypes are the opt-ins for
	// destructive changes (AllowDestructive).
	allowAllDestructive bool
	allowDestroyTypes   []string
	log                 *slog.Logger
	onEvent             func(StackEvent)
	now                 func() time.Time
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		jobs:          10,
		minDelay:      5 * time.Second,
		maxDelay:      30 * time.Second,
		createTimeout: 15 * time.Minute,
		busyTimeout:   30 * time.Minute,
		deployTimeout: 2 * time.Hour,
		poll:          5 * time.Second,
		log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:           time.Now,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.minDelay > o.maxDelay {
		return nil, fmt.Errorf("wait delays: minimum %s is above maximum %s", o.minDelay, o.maxDelay)
	}
	return o, nil
}

var (
	nameSafe    = regexp.MustCompile(`[^a-zA-Z0-9-]+`)
	cfnTypeName = regexp.MustCompile(`^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$`)
)

// WithRevision names change sets autopilot-plan-<short sha>-<run id> (or
// autopilot-deploy-…), so that a change set is traced back to the commit
// and the CI run that made it (default: autopilot-plan-local-<unix time>).
func WithRevision(sha, runID string) Option {
	return func(o *options) error {
		if sha == "" {
			return errors.New("revision: commit sha is empty")
		}
		if len(sha) > 7 {
			sha = sha[:7]
		}
		o.sha, o.runID = nameSafe.ReplaceAllString(sha, "-"), nameSafe.ReplaceAllString(runID, "-")
		return nil
	}
}

// WithTarget labels the plan with the application, account and region it is
// for (default: empty).
func WithTarget(app, account, region string) Option {
	return func(o *options) error {
		o.app, o.account, o.region = app, account, region
		return nil
	}
}

// WithUploader sets where templates over 51,200 bytes and stack assets go
// (default: none; planning such a stack then fails, saying so).
func WithUploader(u Uploader) Option {
	return func(o *options) error {
		if u == nil {
			return errors.New("uploader is nil")
		}
		o.uploader = u
		return nil
	}
}

// WithJobs sets how many stacks are worked on at once (default 10: the work
// is waiting on CloudFormation, not CPU, and ten pollers stay well under its
// API rate limits).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("jobs must be positive, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithWaitDelays sets the backoff of change-set waiters, from min growing
// to max between polls (default 5s to 30s).
func WithWaitDelays(min, max time.Duration) Option {
	return func(o *options) error {
		if min <= 0 || max <= 0 {
			return errors.New("wait delays must be positive")
		}
		o.minDelay, o.maxDelay = min, max
		return nil
	}
}

// WithTimeouts bounds the waits: change-set creation (default 15m), a busy
// stack to settle (default 30m) and a stack to deploy (default 2h). A zero
// keeps the default.
func WithTimeouts(create, busy, deploy time.Duration) Option {
	return func(o *options) error {
		if create < 0 || busy < 0 || deploy < 0 {
			return errors.New("timeouts must not be negative")
		}
		if create > 0 {
			o.createTimeout = create
		}
		if busy > 0 {
			o.busyTimeout = busy
		}
		if deploy > 0 {
			o.deployTimeout = deploy
		}
		return nil
	}
}

// WithPollInterval sets how often stack status and events are polled
// (default 5s).
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("poll interval must be positive")
		}
		o.poll = d
		return nil
	}
}

// WithRecreateFailed lets autopilot delete a stack left in ROLLBACK_COMPLETE
// (its first creation failed; CloudFormation cannot update it) and create it
// again (default false: such a stack is reported with what to do).
func WithRecreateFailed(on bool) Option {
	return func(o *options) error {
		o.recreateFailed = on
		return nil
	}
}

// WithKeepChangeSets keeps the change sets Plan creates, for inspection in
// the console (default false: Plan deletes them once read).
func WithKeepChangeSets(on bool) Option {
	return func(o *options) error {
		o.keepChangeSets = on
		return nil
	}
}

// RequireFingerprint makes Deploy refuse to execute unless the plan's
// fingerprint (inputs and effect of every stack) equals fp, the one of the
// reviewed plan (default: no check). Deploy plans first, then compares.
func RequireFingerprint(fp string) Option {
	return func(o *options) error {
		if fp == "" {
			return errors.New("required fingerprint is empty; pass the fingerprint of the reviewed plan")
		}
		o.requireFP = fp
		return nil
	}
}

// RequireReviewed makes Deploy refuse to execute unless every environment
// it deploys has a reviewed plan with the fingerprint its plan has now;
// the error names the stacks and resources that differ (default: no check).
func RequireReviewed(reviewed map[string]Reviewed) Option {
	return func(o *options) error {
		if len(reviewed) == 0 {
			return errors.New("no reviewed plan to require")
		}
		o.reviewed = reviewed
		return nil
	}
}

// checkReviewed applies RequireFingerprint and RequireReviewed to a plan.
func (o *options) checkReviewed(p *Plan) error {
	if o.requireFP != "" && p.Fingerprint != o.requireFP {
		return fmt.Errorf("%w: the plan's fingerprint is %s but the reviewed plan's was %s; "+
			"templates, parameters, images, site files or the live stacks changed after review, so nothing was executed: re-run plan and review it again",
			ErrFingerprintMismatch, p.Fingerprint, o.requireFP)
	}
	if o.reviewed != nil {
		return checkReviewed(p, o.reviewed)
	}
	return nil
}

// WithLogger sets where progress is logged (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		o.log = l
		return nil
	}
}

// WithEvents calls fn with every stack event while Deploy waits, in the
// order each stack produced them (default: events are only logged). fn is
// called from several goroutines, never concurrently for the same stack.
func WithEvents(fn func(StackEvent)) Option {
	return func(o *options) error {
		o.onEvent = fn
		return nil
	}
}
