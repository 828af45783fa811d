BEGIN TRANSACTION;
CREATE TABLE papers (
	arxiv_id VARCHAR(64) NOT NULL, 
	version INTEGER NOT NULL, 
	title TEXT NOT NULL, 
	authors JSON NOT NULL, 
	abstract TEXT NOT NULL, 
	comment TEXT, 
	journal_ref TEXT, 
	primary_category VARCHAR(64) NOT NULL, 
	categories JSON NOT NULL, 
	published DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	fetched_at DATETIME NOT NULL, 
	PRIMARY KEY (arxiv_id, version)
);
INSERT INTO "papers" VALUES('2505.22653',2,'Reasoning in the Small: a Study','["Ada Lovelace", "\u00c9mile Borel"]','We study reasoning.','12 pages',NULL,'cs.CL','["cs.CL", "cs.AI"]','2025-05-28 17:00:00.000000','2025-05-29 09:30:00.123456','2025-05-30 07:15:00.250000');
INSERT INTO "papers" VALUES('hep-th/9901001',1,'An Old-Style Identifier','["J. Doe"]','Strings.',NULL,'Phys. Lett. B 1 (1999)','hep-th','["hep-th"]','1999-01-04 12:00:00.000000','1999-01-04 12:00:00.000000','2025-05-30 07:15:00.250000');
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-02 04:24:32.675599');
CREATE TABLE summaries (
	arxiv_id VARCHAR(64) NOT NULL, 
	version INTEGER NOT NULL, 
	model VARCHAR(200) NOT NULL, 
	prompt_version VARCHAR(64) NOT NULL, 
	language VARCHAR(35) NOT NULL, 
	tldr TEXT NOT NULL, 
	takeaways JSON NOT NULL, 
	abstract_translation TEXT, 
	generator VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (arxiv_id, version, model, prompt_version, language)
);
INSERT INTO "summaries" VALUES('2505.22653',2,'gpt-4o-mini','p1','en','Small models reason, a little.','["one", "two"]',NULL,'llm','2025-05-30 07:15:00.250000');
CREATE TABLE token_usage (
	day DATE NOT NULL, 
	tokens BIGINT NOT NULL, 
	PRIMARY KEY (day)
);
INSERT INTO "token_usage" VALUES('2025-05-30',1234);
COMMIT;
