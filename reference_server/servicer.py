"""The gRPC face of the server: one unary method, Predict, handed to the Dispatcher."""

from __future__ import annotations

import logging

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_server.dispatch import Dispatcher
from reference_server.errors import SYSTEM_ERROR, internal_error

log = logging.getLogger(__name__)


class PredictServicer(ms_service_pb2_grpc.MSServiceServicer):
    """Every application outcome travels in the reply with gRPC status OK (protocol.md §2)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def Predict(self, request: pb.PredictRequest, context: grpc.ServicerContext) -> pb.PredictReply:
        behaviour = self._dispatcher.behaviour
        try:
            reply = self._dispatcher.predict(request)
        except Exception as exc:  # a bug of ours: still an answer, not a gRPC UNKNOWN
            log.exception("Predict failed")
            reply = behaviour.error_reply(request.servable_spec, SYSTEM_ERROR, internal_error(exc))
        # Outside the try: a variant's respond step may end the call with context.abort().
        return behaviour.respond(request, reply, context)


def add_to_server(server: grpc.Server, dispatcher: Dispatcher) -> None:
    ms_service_pb2_grpc.add_MSServiceServicer_to_server(PredictServicer(dispatcher), server)
