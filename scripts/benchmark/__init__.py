"""Cold-start, warm-latency and worker benchmarks for the three functions, against the local Mem0 server:
the package behind scripts/bench.py, its command line.

Why this shape: this machine is shared (2 cores, other test runs), so single timings mean little, and
every timing verdict compares two things measured in the same run, so that load slows both sides:
cold start over the naive arm's, warm p95 over the p95 of the endpoint's one outside call made directly
in the same threads. Absolute figures are printed, never judged. Cold starts run the arms interleaved,
round by round in a rotating order, and compare medians; warm figures are percentiles over hundreds of
requests. Load averages before and after are recorded as a noise hint.

  a. cold: a fresh interpreter per sample that imports a handler and serves one request, versus one
     doing the naive ``from mem0 import MemoryClient`` plus ``MemoryClient(api_key, host=...)`` with
     mem0ai and every dependency it declares importable (what ``pip install mem0ai`` gives). By default
     the handler children see only src/, the layer's packages and the boto3 set the Lambda runtime
     ships (a symlink farm, ``python -S``), not this virtualenv's development tools. Two more arms do
     client_data's and retrieve's outside work with the libraries alone (Powertools around the handler,
     libphonenumber, mem0ai's MemoryClient and its one call; none of our domain code): the least those
     libraries cost, which the handlers are judged against (verdicts.OVER_LIBRARIES). ``--floor-parts``
     adds that arm without Powertools, without libphonenumber, and with mem0ai's client alone;
     ``--baseline REV`` adds each handler as git revision REV has it, to measure a change in the same run.
  b. warm: the handlers imported once in this process (a warm container), called from threads, each
     call paired with its reference call (arms.REFERENCES) made directly in the same thread.
  c. worker: a 200-turn call through the post-call acknowledgement, its queued job, then the worker.
  d. profile: client_data for a returning caller with a caller profile in DynamoDB (moto's server, its own
     process): cold start with each way of reading it, and warm p95 next to the bare GetItem's, with
     Mem0 answering in 800 ms and hanging.

The Mem0 server and a Lambda Invoke stub run as their own processes, so they do not compete with the
measured code for this interpreter's GIL. Run: ``make bench`` (``--quick`` for a short run), or
scripts/bench.py with its options (``--help``).

The modules, in the order a run uses them:

* ``environments``: what each measured process can import and sees (the Lambda-like site, the naive
  site, another revision's src/, the shared environment variables);
* ``servers``: the Mem0 stand-in, the Lambda Invoke stub and moto's DynamoDB, each its own process;
* ``arms``: what is measured (the handlers, the libraries arms, the watched modules, the references)
  and the requests each endpoint is served;
* ``child``: one cold-start sample, a fresh interpreter;
* ``timing``: arms interleaved round by round, percentiles, medians compared;
* ``cold``, ``warm``, ``worker``, ``caller_profile``: parts a to d;
* ``verdicts``: the targets and how each is judged; ``report``: the machine and the printed table;
* ``run``: one whole run, as scripts/bench.py starts it.
"""
