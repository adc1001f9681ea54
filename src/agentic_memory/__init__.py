"""Shared code of the three AgenticMemory functions, in folders by kind of code.

Each handler (``src/<function>/handler.py``) is decorators and one call into this package. A module's
folder says what it may touch; ``make lint`` checks the rules with import-linter (``pyproject.toml``):

* ``edge``: the HTTP edge. API Gateway events in and out, authentication, ElevenLabs' request
  models, and the three endpoint functions. May import the stores and the domain; never the worker.
* ``worker``: the asynchronous work of the post-call function: the job runner, the caller profile's
  refresh, reconcile. May import the stores and the domain; never the edge.
* ``operator_tools``: what operators run by hand (export, forget). May import the stores and the
  domain; never the edge or the worker.
* ``stores``: one module per outside service (Mem0, the DynamoDB profile table and its reader,
  idempotency records, ElevenLabs' conversations API, Lambda's Invoke API, AWS clients, TLS) and the
  one deadline helper every outside call a caller waits on goes through. May import the domain;
  never the edge, the worker or the operator tools.
* ``domain``: the rules, with no I/O: identity, names, redaction, which calls are remembered, the
  job, the Mem0 writes, the caller profile document and its merge, the dynamic variables. Imports no
  store and no I/O library (boto3, httpx, mem0).

Beside the folders, four modules everyone may use: ``config`` (the one reader of the environment),
``errors`` (domain errors, each with its HTTP status), ``observability`` (logs, metrics, masking) and
``startup`` (the handlers' init phase). Heavy dependencies (mem0, boto3) load lazily, so each function's
cold start pays only for what it uses. docs/architecture.md walks the three flows through the folders.
"""

# The release (CHANGELOG.md). pyproject.toml, template.yaml's SemanticVersion and the README say the same;
# scripts/release_check.py (`make release`, and tests/infra/test_release.py in `make test`) holds them to it.
__version__ = "1.0.0"
