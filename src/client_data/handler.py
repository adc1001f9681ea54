"""ElevenLabs conversation-initiation webhook -> what we remember of the caller."""

from agentic_memory.startup import init_phase

with init_phase():  # no garbage collection while the code loads (agentic_memory/startup.py)
    from agentic_memory.stores import tls

    tls.start()  # the CA bundle loads on a thread while the code below loads (agentic_memory/stores/tls.py)
    from agentic_memory.edge import client_data, health
    from agentic_memory.observability import logger, metrics, use_service

    # Build mem0's client, the caller profile's reader and the request model during Lambda's init phase
    # (full CPU) rather than while a caller waits.
    client_data.prepare()


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    use_service("client-data")
    if health.is_health_check(event):  # GET /: no key, no store (edge/health.py)
        return health.answer("client-data")
    return client_data.handle(event)
