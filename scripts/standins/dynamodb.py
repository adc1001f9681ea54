"""DynamoDB for `make dev`, the tests, the layer check and the benchmark: moto's server, and the tables
template.yaml defines, made the way CloudFormation would make them.

The service is moto's (`moto.server.ThreadedMotoServer`, the DynamoDB API in memory, in a thread of this
process); what this module adds is one quiet way to start it and one way to create a table. A table's
keys, secondary indexes, billing mode and time to live come from its `AWS::DynamoDB::Table` resource in template.yaml
(`sam_template.Template.tables`), read as CloudFormation's resource reference for that type defines
them, and are applied through the calls the Amazon DynamoDB API Reference documents: `CreateTable`,
then `UpdateTimeToLive` when the resource enables TTL. So the local tables cannot drift from the
deployed ones. moto is imported only when a server is made: reading the template stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self


@dataclass(frozen=True, slots=True)
class Table:
    """A DynamoDB table a function names through an environment variable."""

    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str
    ttl_attribute: str | None
    # GlobalSecondaryIndexes as the resource gives them (IndexName, KeySchema, Projection): CreateTable
    # takes the same shape (DynamoDB API reference, CreateTable); on-demand tables give no throughput.
    global_secondary_indexes: tuple[dict[str, Any], ...] = ()

    def create(self, client: Any, name: str | None = None) -> str:
        """Create this table, as the template defines it (keys, billing mode, TTL), through ``client`` (a
        boto3 DynamoDB client: moto's, in ``make dev``, the tests and the benchmark) under ``name``, else
        its own name; returns the name. Raises what ``CreateTable`` raises (the table exists, ...)."""
        table = name or self.name
        indexes = (
            {"GlobalSecondaryIndexes": list(self.global_secondary_indexes)} if self.global_secondary_indexes else {}
        )
        client.create_table(
            TableName=table,
            KeySchema=self.key_schema,
            AttributeDefinitions=self.attribute_definitions,
            BillingMode=self.billing_mode,
            **indexes,
        )
        if self.ttl_attribute:
            client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": self.ttl_attribute}
            )
        return table


class DynamoDBServer:
    """moto's DynamoDB on ``host:port`` (0: a free port), served from a daemon thread once started;
    ``url`` is the endpoint to give boto3 (``AWS_ENDPOINT_URL_DYNAMODB``) or a signed httpx client."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # moto serves through werkzeug, which would log one line per request.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> Self:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def close(self) -> None:
        self._server.stop()


@contextmanager
def running_dynamodb(host: str = "127.0.0.1") -> Iterator[DynamoDBServer]:
    """A started DynamoDBServer on a free port for the duration of a with-block."""
    server = DynamoDBServer(host).start()
    try:
        yield server
    finally:
        server.close()
