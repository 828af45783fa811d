--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: chat_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.chat_events (
    key character varying(200) NOT NULL,
    claimed_at timestamp with time zone NOT NULL
);


--
-- Name: digest_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.digest_runs (
    subscription character varying(80) NOT NULL,
    channel character varying(100) NOT NULL,
    local_date date NOT NULL,
    state character varying(16) NOT NULL,
    late boolean NOT NULL,
    owner character varying(36) NOT NULL,
    lease_until timestamp with time zone NOT NULL,
    window_end timestamp with time zone,
    message_ids json NOT NULL,
    error text,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: full_texts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.full_texts (
    arxiv_id character varying(64) NOT NULL,
    version integer NOT NULL,
    kind character varying(16) NOT NULL,
    url text NOT NULL,
    license text,
    content json NOT NULL,
    fetched_at timestamp with time zone NOT NULL
);


--
-- Name: papers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.papers (
    arxiv_id character varying(64) NOT NULL,
    version integer NOT NULL,
    title text NOT NULL,
    authors json NOT NULL,
    abstract text NOT NULL,
    comment text,
    journal_ref text,
    primary_category character varying(64) NOT NULL,
    categories json NOT NULL,
    published timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL,
    fetched_at timestamp with time zone NOT NULL
);


--
-- Name: posted_papers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.posted_papers (
    channel character varying(100) NOT NULL,
    arxiv_id character varying(64) NOT NULL,
    posted_at timestamp with time zone NOT NULL
);


--
-- Name: request_lanes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.request_lanes (
    name character varying(200) NOT NULL,
    next_at double precision NOT NULL
);


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone NOT NULL
);


--
-- Name: subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.subscriptions (
    name character varying(80) NOT NULL,
    query text NOT NULL,
    channels json NOT NULL,
    "time" character varying(8) NOT NULL,
    timezone character varying(64) NOT NULL,
    weekdays json NOT NULL,
    max_papers integer NOT NULL,
    include json NOT NULL,
    exclude json NOT NULL,
    language character varying(35) NOT NULL,
    post_when_empty boolean NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: summaries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.summaries (
    arxiv_id character varying(64) NOT NULL,
    version integer NOT NULL,
    model character varying(200) NOT NULL,
    prompt_version character varying(64) NOT NULL,
    language character varying(35) NOT NULL,
    tldr text NOT NULL,
    takeaways json NOT NULL,
    abstract_translation text,
    generator character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    source character varying(16) NOT NULL,
    evidence json,
    lead_figure text
);


--
-- Name: token_usage; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.token_usage (
    day date NOT NULL,
    tokens bigint NOT NULL
);


--
-- Data for Name: chat_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.chat_events VALUES ('slack:Ev0123', '2025-05-30 07:15:00.25+00');


--
-- Data for Name: digest_runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.digest_runs VALUES ('nlp-daily', 'slack:C0123', '2025-05-30', 'sent', false, '5f0c6b5e-0d7a-4b8e-9a51-3c2f1d0e9b77', '2025-05-30 07:25:00.25+00', '2025-05-30 00:00:00+00', '["1717.1", "1717.2"]', NULL, '2025-05-30 07:15:00.25+00');


--
-- Data for Name: full_texts; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.full_texts VALUES ('2505.22653', 2, 'html', 'https://arxiv.org/html/2505.22653v2', 'CC BY 4.0', '{"format": 1, "paragraphs": [["abstract1", "Abstract", "We study reasoning."], ["S4.p2", "4 Results", "Accuracy rises by $12.5\\%$ on GSM8K."]], "figures": [{"label": "Figure 1", "caption": "Overview.", "anchor": "S1.F1", "image_url": "https://arxiv.org/html/2505.22653v2/x1.png", "kind": "raster", "panels": []}], "table_captions": ["TABLE I: Results"], "note": null}', '2025-05-30 07:15:00.25+00');


--
-- Data for Name: papers; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.papers VALUES ('2505.22653', 2, 'Reasoning in the Small: a Study', '["Ada Lovelace", "\u00c9mile Borel"]', 'We study reasoning.', '12 pages', NULL, 'cs.CL', '["cs.CL", "cs.AI"]', '2025-05-28 17:00:00+00', '2025-05-29 09:30:00.123456+00', '2025-05-30 07:15:00.25+00');
INSERT INTO public.papers VALUES ('hep-th/9901001', 1, 'An Old-Style Identifier', '["J. Doe"]', 'Strings.', NULL, 'Phys. Lett. B 1 (1999)', 'hep-th', '["hep-th"]', '1999-01-04 12:00:00+00', '1999-01-04 12:00:00+00', '2025-05-30 07:15:00.25+00');


--
-- Data for Name: posted_papers; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.posted_papers VALUES ('slack:C0123', '2505.22653', '2025-05-30 07:15:00.25+00');
INSERT INTO public.posted_papers VALUES ('slack:C0123', 'hep-th/9901001', '2025-05-30 07:15:00.25+00');


--
-- Data for Name: request_lanes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.request_lanes VALUES ('export.arxiv.org', 1748589300.25);


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_version VALUES (1, '2026-12-02 07:10:42.124087+00');
INSERT INTO public.schema_version VALUES (2, '2026-12-02 07:10:42.135291+00');
INSERT INTO public.schema_version VALUES (3, '2026-12-02 07:10:42.147421+00');
INSERT INTO public.schema_version VALUES (4, '2026-12-02 07:10:42.15265+00');
INSERT INTO public.schema_version VALUES (5, '2026-12-02 07:10:42.159564+00');
INSERT INTO public.schema_version VALUES (6, '2026-12-02 07:10:42.17261+00');


--
-- Data for Name: subscriptions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.subscriptions VALUES ('nlp-daily', 'cat:cs.CL AND abs:reasoning', '["slack:C0123", "console"]', '08:30', 'Europe/Paris', '[0, 1, 2, 3, 4]', 7, '["reasoning"]', '[]', 'fr', false, '2025-05-30 07:15:00.25+00');


--
-- Data for Name: summaries; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.summaries VALUES ('2505.22653', 2, 'gpt-4o-mini', 'p1', 'en', 'Small models reason, a little.', '["one", "two"]', NULL, 'llm', '2025-05-30 07:15:00.25+00', 'abstract', NULL, NULL);
INSERT INTO public.summaries VALUES ('2505.22653', 2, 'gpt-4o-mini', 'p1', 'en', 'Small models reason, a little, says the paper itself.', '["Accuracy rises by 12.5% on GSM8K.", "No code."]', NULL, 'llm', '2025-05-30 07:15:00.25+00', 'html', '[{"quote": "Accuracy rises by $12.5\\%$ on GSM8K.", "anchor_url": "https://arxiv.org/html/2505.22653v2#S4.p2"}, null]', 'Figure 1');


--
-- Data for Name: token_usage; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.token_usage VALUES ('2025-05-30', 1234);


--
-- Name: chat_events chat_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.chat_events
    ADD CONSTRAINT chat_events_pkey PRIMARY KEY (key);


--
-- Name: digest_runs digest_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.digest_runs
    ADD CONSTRAINT digest_runs_pkey PRIMARY KEY (subscription, channel, local_date);


--
-- Name: full_texts full_texts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.full_texts
    ADD CONSTRAINT full_texts_pkey PRIMARY KEY (arxiv_id, version);


--
-- Name: papers papers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.papers
    ADD CONSTRAINT papers_pkey PRIMARY KEY (arxiv_id, version);


--
-- Name: posted_papers posted_papers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posted_papers
    ADD CONSTRAINT posted_papers_pkey PRIMARY KEY (channel, arxiv_id);


--
-- Name: request_lanes request_lanes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_lanes
    ADD CONSTRAINT request_lanes_pkey PRIMARY KEY (name);


--
-- Name: schema_version schema_version_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);


--
-- Name: subscriptions subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscriptions
    ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (name);


--
-- Name: summaries summaries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.summaries
    ADD CONSTRAINT summaries_pkey PRIMARY KEY (arxiv_id, version, model, prompt_version, language, source);


--
-- Name: token_usage token_usage_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.token_usage
    ADD CONSTRAINT token_usage_pkey PRIMARY KEY (day);


--
-- PostgreSQL database dump complete
--


