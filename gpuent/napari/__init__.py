"""napari plugin of gpuent: "Local map" and "Anneal" dock widgets and sample data.

Installed with ``pip install "gpuent[napari]"`` plus a Qt binding (napari's guidelines leave
the choice to the user: ``pip install "napari[pyqt6]"`` or PySide6); napari finds the
manifest ``napari.yaml`` through the ``napari.manifest`` entry point. Importing this package
needs neither napari nor Qt: the widgets live in :mod:`gpuent.napari._widgets`, the
computations they run (testable without a viewer) in :mod:`gpuent.napari._compute`.
"""

from ._compute import (
    EXPECTED_FUNCTIONS,
    MapRequest,
    anneal_lattice,
    build_model,
    build_schedule,
    iter_map,
    local_map,
    map_name,
)

__all__ = [
    "EXPECTED_FUNCTIONS",
    "MapRequest",
    "anneal_lattice",
    "build_model",
    "build_schedule",
    "iter_map",
    "local_map",
    "map_name",
]
