BEGIN TRANSACTION;
CREATE TABLE chat_events (
                "key" VARCHAR(200) NOT NULL,
                claimed_at DATETIME NOT NULL,
                PRIMARY KEY ("key")
            );
INSERT INTO "chat_events" VALUES('slack:Ev0123','2025-05-30 07:15:00.250000');
CREATE TABLE digest_runs (
                subscription VARCHAR(80) NOT NULL,
                channel VARCHAR(100) NOT NULL,
                local_date DATE NOT NULL,
                state VARCHAR(16) NOT NULL,
                late BOOLEAN NOT NULL,
                owner VARCHAR(36) NOT NULL,
                lease_until DATETIME NOT NULL,
                window_end DATETIME,
                message_ids JSON NOT NULL,
                error TEXT,
                updated_at DATETIME NOT NULL,
                PRIMARY KEY (subscription, channel, local_date)
            );
INSERT INTO "digest_runs" VALUES('nlp-daily','slack:C0123','2025-05-30','sent',0,'5f0c6b5e-0d7a-4b8e-9a51-3c2f1d0e9b77','2025-05-30 07:25:00.250000','2025-05-30 00:00:00.000000','["1717.1", "1717.2"]',NULL,'2025-05-30 07:15:00.250000');
CREATE TABLE full_texts (
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                kind VARCHAR(16) NOT NULL,
                url TEXT NOT NULL,
                license TEXT,
                content JSON NOT NULL,
                fetched_at DATETIME NOT NULL,
                PRIMARY KEY (arxiv_id, version)
            );
INSERT INTO "full_texts" VALUES('2505.22653',2,'html','https://arxiv.org/html/2505.22653v2','CC BY 4.0','{"format": 1, "paragraphs": [["abstract1", "Abstract", "We study reasoning."], ["S4.p2", "4 Results", "Accuracy rises by $12.5\\%$ on GSM8K."]], "figures": [{"label": "Figure 1", "caption": "Overview.", "anchor": "S1.F1", "image_url": "https://arxiv.org/html/2505.22653v2/x1.png", "kind": "raster", "panels": []}], "table_captions": ["TABLE I: Results"], "note": null}','2025-05-30 07:15:00.250000');
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
CREATE TABLE posted_papers (
                channel VARCHAR(100) NOT NULL,
                arxiv_id VARCHAR(64) NOT NULL,
                posted_at DATETIME NOT NULL,
                PRIMARY KEY (channel, arxiv_id)
            );
INSERT INTO "posted_papers" VALUES('slack:C0123','2505.22653','2025-05-30 07:15:00.250000');
INSERT INTO "posted_papers" VALUES('slack:C0123','hep-th/9901001','2025-05-30 07:15:00.250000');
CREATE TABLE request_lanes (
                name VARCHAR(200) NOT NULL,
                next_at FLOAT NOT NULL,
                PRIMARY KEY (name)
            );
INSERT INTO "request_lanes" VALUES('export.arxiv.org',1748589300.25);
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at DATETIME NOT NULL,
    PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-02 07:10:41.879548');
INSERT INTO "schema_version" VALUES(2,'2026-12-02 07:10:41.889410');
INSERT INTO "schema_version" VALUES(3,'2026-12-02 07:10:41.897421');
INSERT INTO "schema_version" VALUES(4,'2026-12-02 07:10:41.904073');
INSERT INTO "schema_version" VALUES(5,'2026-12-02 07:10:41.909484');
INSERT INTO "schema_version" VALUES(6,'2026-12-02 07:10:41.921281');
CREATE TABLE subscriptions (
                name VARCHAR(80) NOT NULL,
                "query" TEXT NOT NULL,
                channels JSON NOT NULL,
                time VARCHAR(8) NOT NULL,
                timezone VARCHAR(64) NOT NULL,
                weekdays JSON NOT NULL,
                max_papers INTEGER NOT NULL,
                include JSON NOT NULL,
                exclude JSON NOT NULL,
                language VARCHAR(35) NOT NULL,
                post_when_empty BOOLEAN NOT NULL,
                updated_at DATETIME NOT NULL,
                PRIMARY KEY (name)
            );
INSERT INTO "subscriptions" VALUES('nlp-daily','cat:cs.CL AND abs:reasoning','["slack:C0123", "console"]','08:30','Europe/Paris','[0, 1, 2, 3, 4]',7,'["reasoning"]','[]','fr',0,'2025-05-30 07:15:00.250000');
CREATE TABLE "summaries" (
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
                        source VARCHAR(16) NOT NULL,
                        evidence JSON,
                        lead_figure TEXT,
                        PRIMARY KEY (arxiv_id, version, model, prompt_version, language, source)
                    );
INSERT INTO "summaries" VALUES('2505.22653',2,'gpt-4o-mini','p1','en','Small models reason, a little.','["one", "two"]',NULL,'llm','2025-05-30 07:15:00.250000','abstract',NULL,NULL);
INSERT INTO "summaries" VALUES('2505.22653',2,'gpt-4o-mini','p1','en','Small models reason, a little, says the paper itself.','["Accuracy rises by 12.5% on GSM8K.", "No code."]',NULL,'llm','2025-05-30 07:15:00.250000','html','[{"quote": "Accuracy rises by $12.5\\%$ on GSM8K.", "anchor_url": "https://arxiv.org/html/2505.22653v2#S4.p2"}, null]','Figure 1');
CREATE TABLE token_usage (
                day DATE NOT NULL,
                tokens BIGINT NOT NULL,
                PRIMARY KEY (day)
            );
INSERT INTO "token_usage" VALUES('2025-05-30',1234);
COMMIT;
