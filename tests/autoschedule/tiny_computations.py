"""A file in the `tensorlang tune --auto` convention, small enough for tests."""

from tests.autoschedule.workloads import elementwise_chain, matmul


def computations():
    return {"mm": (matmul, (32, 32, 32)), "chain": (elementwise_chain, (16, 64))}
