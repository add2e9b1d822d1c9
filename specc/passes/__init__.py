"""Passes over the syntax tree that produce the checked IR.

blocks    expand block uses (parameter substitution, recursion is an error)
layers    bind layer arguments, name layers, infer shapes, choose initializers
sections  check `data` and `train` keys and values, loss/output compatibility
The order is fixed by specc.frontend.build_program.
"""
