"""rekap: validation and consolidation of the OPD staffing recaps of Kota Serang."""

__version__ = "0.1.0"
