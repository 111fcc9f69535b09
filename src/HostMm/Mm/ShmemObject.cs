using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The object behind a shared anonymous mapping (mm/shmem.c): a page cache indexed by page offset.
/// Every VMA that maps it, in the parent and in every forked child, holds a use; the cache holds one
/// reference on each of its folios, so pages survive <c>MADV_DONTNEED</c> and partial munmaps and are
/// freed when the last VMA goes.
/// </summary>
internal sealed class ShmemObject
{
    private readonly Dictionary<long, Folio> _pages = [];
    private readonly MmLock _lock;
    private readonly PhysicalMemory _memory;
    private int _users = 1;

    public ShmemObject(PhysicalMemory memory)
    {
        _memory = memory;
        _lock = new MmLock(memory.Sync, LockClasses.ShmemPages);
    }

    /// <summary>Pages in the cache.</summary>
    public int CachedPages
    {
        get
        {
            using (_lock.Enter())
            {
                return _pages.Count;
            }
        }
    }

    /// <summary>
    /// <c>shmem_get_folio()</c>: the folio at <paramref name="pgoff"/>, allocated zeroed if absent,
    /// with a reference for the caller. Null when memory is exhausted.
    /// </summary>
    public Folio? GetFolio(long pgoff)
    {
        using (_lock.Enter())
        {
            if (!_pages.TryGetValue(pgoff, out var folio))
            {
                folio = _memory.AllocFolio();
                if (folio is null)
                {
                    return null;
                }

                _pages.Add(pgoff, folio);
            }

            folio.Get();
            return folio;
        }
    }

    /// <summary>A VMA starts using the object (a split or a fork).</summary>
    public void AddUser() => Interlocked.Increment(ref _users);

    /// <summary>A VMA stops using it; the last one frees the cached pages.</summary>
    public void RemoveUser()
    {
        if (Interlocked.Decrement(ref _users) != 0)
        {
            return;
        }

        Folio[] folios;
        using (_lock.Enter())
        {
            folios = [.. _pages.Values];
            _pages.Clear();
        }

        foreach (var f in folios)
        {
            f.Put();
        }
    }
}
