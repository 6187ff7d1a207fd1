-- The web app's SQLite schema as formcheck made it with create_all before accounts and migrations
-- (commit 2b3c782): what tests/test_web_auth.py upgrades. Statements end with ';' on their own.
CREATE TABLE athletes (
	id INTEGER NOT NULL, 
	slug VARCHAR(112) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_athletes_slug ON athletes (slug);
CREATE TABLE clips (
	sha256 VARCHAR(64) NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	container VARCHAR(32) NOT NULL, 
	file_name VARCHAR(80) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (sha256)
);
CREATE TABLE job_speeds (
	job_uid VARCHAR(32) NOT NULL, 
	mean_velocity_mps FLOAT, 
	velocity_loss_pct FLOAT, 
	PRIMARY KEY (job_uid)
);
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	uid VARCHAR(32) NOT NULL, 
	athlete_id INTEGER NOT NULL, 
	clip_sha256 VARCHAR(64) NOT NULL, 
	display_name VARCHAR(255) NOT NULL, 
	variant VARCHAR(64) NOT NULL, 
	note VARCHAR(500) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	stage VARCHAR(80) NOT NULL, 
	progress_done INTEGER NOT NULL, 
	progress_total INTEGER NOT NULL, 
	error TEXT, 
	error_code INTEGER, 
	warning TEXT, 
	attempts INTEGER NOT NULL, 
	worker VARCHAR(200), 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	heartbeat_at DATETIME, 
	finished_at DATETIME, 
	variant_used VARCHAR(64), 
	"view" VARCHAR(32), 
	rep_count INTEGER, 
	mean_top_hip_deg FLOAT, 
	mean_up_s FLOAT, 
	mean_down_s FLOAT, 
	mean_top_pause_s FLOAT, 
	score FLOAT, 
	duration_s FLOAT, 
	faults VARCHAR(500), 
	job_seconds FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(athlete_id) REFERENCES athletes (id), 
	FOREIGN KEY(clip_sha256) REFERENCES clips (sha256)
);
CREATE UNIQUE INDEX ix_jobs_uid ON jobs (uid);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE INDEX ix_jobs_athlete_id ON jobs (athlete_id);
CREATE TABLE athlete_heights (
	athlete_id INTEGER NOT NULL, 
	height_cm FLOAT NOT NULL, 
	PRIMARY KEY (athlete_id), 
	FOREIGN KEY(athlete_id) REFERENCES athletes (id)
);
