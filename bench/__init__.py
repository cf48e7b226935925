"""`make bench` (``python -m bench``): cold start, warm overhead, I/O per request, the token
under load, throughput and a cold-start storm; one module per section, writes docs/benchmarks.md.

Every speed figure is a median over repeated runs and a ratio against a baseline measured in the
same run on the same machine. Init and first-request figures come from the *built* artifacts
(`sam build`, host architecture) on the runtime's own Python, isolated from any virtualenv
(`python3.13 -I -S`), as Lambda runs them: the scripts such a fresh process runs are the files
in ``bench/probes/``.
"""
