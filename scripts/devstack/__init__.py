"""`make dev`: the local stand-ins (the `standins` package) started together as one stack, and what the
other scripts need to find and configure it.

* `stack`: starts the HTTP API, the local Lambda, DynamoDB and Mem0 (or the real Mem0 and ElevenLabs
  when their keys are set) in one process;
* `statefile`: where a running stack says what it is (``.local/<port>/dev-stack.json``), read by
  scripts/stackfind.py and the scripts that target a running stack;
* `envfile`: the one reader of `.env` files, shared by the stack and every script.
"""
