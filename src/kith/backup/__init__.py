"""Encrypted backups of identity, contacts and settings."""

from kith.backup.service import export_backup, import_backup, read_backup

__all__ = ["export_backup", "import_backup", "read_backup"]
