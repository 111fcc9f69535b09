namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>mmap(addr, length, prot, flags | MAP_ANONYMOUS)</c> (mm/mmap.c): creates an anonymous
    /// mapping. Without <see cref="MmapFlags.Fixed"/> the address is a hint; the mapping goes at the
    /// hint when free, else at the lowest free range above <see cref="MmapBase"/>.
    /// Takes the mmap lock for write.
    /// </summary>
    /// <returns>
    /// -EINVAL: zero length, unknown prot or flag bits, neither or both of Private/Shared, or an
    /// unaligned fixed address. -ENOMEM: the length overflows or no range is free, or a fixed range
    /// leaves user space. -EEXIST: <see cref="MmapFlags.FixedNoReplace"/> over an existing mapping.
    /// </returns>
    public Errno Mmap(ulong addr, ulong length, Prot prot, MmapFlags flags, out ulong mapped)
    {
        mapped = 0;
        const MmapFlags known = MmapFlags.Private | MmapFlags.Shared | MmapFlags.Fixed | MmapFlags.FixedNoReplace;
        var shared = (flags & MmapFlags.Shared) != 0;
        if (length == 0 || (prot & ~Prot.ReadWrite) != 0 || (flags & ~known) != 0 || shared == ((flags & MmapFlags.Private) != 0))
        {
            return Errno.EINVAL;
        }

        var len = (length + PageMask) & ~PageMask;
        if (len < length || len > TaskSize)
        {
            return Errno.ENOMEM;
        }

        var fixedAt = (flags & (MmapFlags.Fixed | MmapFlags.FixedNoReplace)) != 0;
        if (fixedAt && (addr & PageMask) != 0)
        {
            return Errno.EINVAL;
        }

        if (fixedAt && addr > TaskSize - len)
        {
            return Errno.ENOMEM;
        }

        MmapLock.DownWrite();
        try
        {
            if (IsDead)
            {
                return Errno.EFAULT;
            }

            ulong start;
            if (fixedAt)
            {
                start = addr;
                if (VmasIn(start, start + len).Count > 0)
                {
                    if ((flags & MmapFlags.FixedNoReplace) != 0)
                    {
                        return Errno.EEXIST;
                    }

                    UnmapRangeLocked(start, start + len);
                }
            }
            else if (!TryFindFreeRange(addr & ~PageMask, len, out start))
            {
                return Errno.ENOMEM;
            }

            var vma = shared
                ? new Vma(this, start, start + len, prot, new ShmemObject(Memory), null, 0)
                : new Vma(this, start, start + len, prot, null, new AnonVma(Kernel.Sync), (long)(start >> PageShift));
            vma.Rmap.Link(vma);
            InsertVma(vma);
            mapped = start;
            return Errno.Ok;
        }
        finally
        {
            MmapLock.UpWrite();
        }
    }

    /// <summary><c>get_unmapped_area()</c>, bottom-up. Caller holds the mmap lock.</summary>
    private bool TryFindFreeRange(ulong hint, ulong len, out ulong start)
    {
        if (hint >= MmapBase && hint <= TaskSize - len && VmasIn(hint, hint + len).Count == 0)
        {
            start = hint;
            return true;
        }

        var cur = MmapBase;
        foreach (var vma in _vmas)
        {
            if (vma.End <= cur)
            {
                continue;
            }

            if (vma.Start >= cur && vma.Start - cur >= len)
            {
                break;
            }

            cur = vma.End;
        }

        start = cur;
        return cur <= TaskSize - len;
    }
}
