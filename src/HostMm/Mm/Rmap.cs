using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>rmap_walk()</c> (mm/rmap.c): every (VMA, address) at which a folio may be mapped — through
/// its anon_vma, or its shmem object's <c>i_mmap</c> — computed from the folio's index and each
/// linked VMA's page offset. Callers check the PTE there under its lock.
/// </summary>
internal static class Rmap
{
    public static IEnumerable<(Vma Vma, ulong Address)> Mappings(Folio folio)
    {
        var vmas = folio.Mapping switch
        {
            AnonVma anonVma => anonVma.Snapshot(),
            ShmemObject shmem => shmem.Vmas.Snapshot(),
            _ => [],
        };
        foreach (var vma in vmas)
        {
            var offset = folio.Index - vma.PgOff;
            if (offset < 0)
            {
                continue;
            }

            var address = vma.Start + ((ulong)offset << vma.Mm.PageShift);
            if (address >= vma.Start && address < vma.End)
            {
                yield return (vma, address);
            }
        }
    }
}
