"""The rules of caller memory, with no I/O: nothing here talks to a network, a disk or a clock it
was not handed, and nothing imports a store or an I/O library (boto3, httpx, mem0).

Identity (``identity``), names (``names``), redaction (``redaction``), the finished conversation as
ElevenLabs describes it (``conversation``), which calls are remembered (``worth_remembering``), the
job a conversation becomes (``job``), the Mem0 writes a job makes (``memory_writes``) and their
labels (``memory_labels``), the memory scope (``scope``), what is remembered of a caller
(``remembered``), the caller profile document and its merge (``profile``), and the dynamic variables
the initiation answer carries (``dynamic_variables``).
"""
