"""Encrypted backups of identity, contacts and settings (and, if asked, files)."""

from kith.backup.service import RefusedFile, Restored, export_backup, import_backup, read_backup

__all__ = ["RefusedFile", "Restored", "export_backup", "import_backup", "read_backup"]
