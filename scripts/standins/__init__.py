"""Local stand-ins for the platforms the product runs on and talks to: AWS, ElevenLabs and Mem0.

`make dev`, the tests, the layer check and the benchmark use them, so none of them needs the network or
an account. Each module is named for what it stands in for, and its docstring names the platform's
document it follows and where it knowingly differs:

* `api_gateway`: an API Gateway HTTP API (payload format 2.0) in front of the local Lambda runtime;
* `aws_lambda`: a Lambda runtime for the handlers and the Lambda Invoke API, with asynchronous retries
  and a dead-letter file;
* `dynamodb`: moto's DynamoDB, and the tables as template.yaml defines them;
* `elevenlabs`: ElevenLabs' conversations API (list and get), for reconcile and backfill;
* `mem0`: the Mem0 Platform REST API as mem0ai's `MemoryClient` uses it;
* `sam_template`: what they all read from template.yaml (functions, routes, tables);
* `serving`: the HTTP server plumbing the stand-ins share.

`make dev` itself (starting them together, its state file, the `.env` reader) is the `devstack` package.
"""
