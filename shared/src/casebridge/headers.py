"""AMQP header names casebridge writes; one place, so producers and readers agree."""

MESSAGE_TYPE = "cb-type"
MESSAGE_ID = "cb-message-id"
CORRELATION_ID = "cb-correlation-id"
FLOW = "cb-flow"
MAPPING_VERSION = "cb-mapping-version"

#: Retry bookkeeping, carried on the message while it is retried.
ATTEMPTS = "cb-attempts"
FIRST_FAILURE = "cb-first-failure-at"
LAST_ERROR_CLASS = "cb-last-error-class"

#: Replay bookkeeping: how many times an admin sent it back; the loop guard reads it.
REPLAY_COUNT = "cb-replay-count"

#: Added when a message is dead-lettered; everything under this prefix is ours, the rest original.
DEAD_PREFIX = "cb-dead-"
DEAD_QUEUE = "cb-dead-queue"
DEAD_STAGE = "cb-dead-stage"
DEAD_ERROR_CLASS = "cb-dead-error-class"
DEAD_ERROR_MESSAGE = "cb-dead-error-message"
DEAD_TRACEBACK = "cb-dead-traceback"
DEAD_ATTEMPTS = "cb-dead-attempts"
DEAD_FIRST_FAILURE = "cb-dead-first-failure-at"
DEAD_LAST_FAILURE = "cb-dead-last-failure-at"
