"""The checker's second kernel: z3 proofs (routing induction, monolithic equivalence) re-checked by cvc5 on
queries the checker regenerates itself; the certificate's own query text is read as data and compared."""

from ._proofs import RLIMIT, SOLVER_METHODS, check_solver_proof

__all__ = ["check_solver_proof", "RLIMIT", "SOLVER_METHODS"]
