using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Memory;

/// <summary><c>struct dev_pagemap_ops</c>: what core mm asks of the driver that owns device frames.</summary>
public interface IDevPagemapOps
{
    /// <summary>
    /// <c>migrate_to_ram</c>: a CPU touched a device-private entry; move the page at
    /// <see cref="VmFault.Address"/> back to system memory (with <c>MigrateVma*</c> and
    /// <see cref="VmFault.Page"/> as the fault page). Called without the page-table lock, with the
    /// mmap lock held for read. Return <see cref="Errno.Ok"/> (the fault is retried whether or not
    /// the page moved) or an error, which the faulting access gets (SIGBUS).
    /// </summary>
    Errno MigrateToRam(in VmFault vmf);

    /// <summary><c>folio_free</c>: the last reference to a device folio was dropped; it may be reused.</summary>
    void FolioFree(Folio folio);
}
