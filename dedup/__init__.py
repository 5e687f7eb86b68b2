"""Near-duplicate detection: exact and MinHash/LSH clusters over the Parquet shards, rights-aware.

Modules, in pipeline order: ``params`` (what signatures depend on), ``shingles`` (word n-grams and
their hashes), ``minhash`` (datasketch-identical signatures in numpy batches), ``engine`` (the
signature stage over row groups and the banding stage: the local engine, worker processes), ``index`` (signatures kept between runs),
``lsh`` (bands, candidate pairs, verification), ``clusters`` (components, canonical choice) and
``pipeline`` (the ``provenance dedup`` run). ``ray_engine`` runs the signature and banding stages
as Ray tasks (``--engine ray``; Ray is imported only there). ``synthetic`` generates test and
benchmark corpora.
"""
