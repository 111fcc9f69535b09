using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>rmap_walk()</c> (mm/rmap.c): every (VMA, address) at which a folio may be mapped — through
/// its anon_vma, or its shmem object's <c>i_mmap</c> — computed from the folio's index and each
/// linked VMA's page offset. Callers check the PTE there under its lock.
/// </summary>
/// <remarks>
/// The walk is a struct enumerator over the VMA array the walk starts with, so migration and
/// eviction, which walk once per page, allocate nothing for it.
/// </remarks>
internal static class Rmap
{
    /// <summary>The mappings of <paramref name="folio"/>, for <c>foreach</c>.</summary>
    public static Walk Mappings(Folio folio) => new(folio, folio.Mapping switch
    {
        AnonVma anonVma => anonVma.Snapshot(),
        ShmemObject shmem => shmem.Vmas.Snapshot(),
        _ => [],
    });

    /// <summary>
    /// One walk: the VMAs linked when it started, and the address of the folio's first page in each
    /// VMA its pages overlap. For a large folio that address may lie before the VMA's start (a split
    /// VMA holds only some of its pages): callers skip the pages outside the VMA, as
    /// <c>page_vma_mapped_walk()</c> does.
    /// </summary>
    public struct Walk(Folio folio, Vma[] vmas)
    {
        private int _next = -1;

        /// <summary>The VMA and the folio's address in it.</summary>
        public (Vma Vma, ulong Address) Current { get; private set; }

        /// <summary>The walk itself is its enumerator.</summary>
        public readonly Walk GetEnumerator() => this;

        /// <summary>Advances to the next VMA that covers one of the folio's pages.</summary>
        public bool MoveNext()
        {
            while (++_next < vmas.Length)
            {
                var vma = vmas[_next];
                var shift = vma.Mm.PageShift;
                var vpn = (long)(vma.Start >> shift) + folio.Index - vma.PgOff;
                if (vpn + folio.NrPages <= (long)(vma.Start >> shift) || vpn >= (long)(vma.End >> shift))
                {
                    continue;
                }

                Current = (vma, (ulong)vpn << shift);
                return true;
            }

            return false;
        }
    }
}
