"""The NumPy reference backend: hand-written forward and backward passes.

`NumpyBackend` (backend.py) implements the driver interface; `Network`
(model.py) runs a layer tree; ops/ holds one unit per op; losses.py the losses.
"""
