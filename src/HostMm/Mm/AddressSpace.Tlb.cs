using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    private readonly MmLock _cpumaskLock;
    private CpuContext[] _cpus = [];

    /// <summary>
    /// The TLB generation: bumped by every flush. A CPU context whose TLB was filled in an older
    /// generation empties it before its next access. Read on the TLB-hit path.
    /// </summary>
    internal long TlbGeneration;

    /// <summary>
    /// <c>flush_tlb_range()</c>: after this returns, no CPU context running in this address space
    /// uses a translation it obtained before the call, and every access that used one has finished.
    /// Callers change (or clear) the PTEs first and release the pages only after the flush.
    /// </summary>
    /// <remarks>
    /// The asymmetric-fence shootdown of DESIGN §2.3. The hit path publishes "in an access with a TLB
    /// of generation g" with a plain volatile store, then reads the current generation. Here the
    /// generation is bumped first, then <see cref="Interlocked.MemoryBarrierProcessWide"/> (the IPI)
    /// orders every CPU's earlier stores before the reads below: a context seen idle will read the
    /// new generation on its next access and empty its TLB; a context seen in an access with an
    /// older generation is waited for. The range is recorded for counting; every context drops its
    /// whole TLB, as on a full flush.
    /// <para>With no context in <c>mm_cpumask</c> there is no IPI, as in <c>flush_tlb_mm_range</c>,
    /// which only interrupts the CPUs in the mask (a driver migrating pages of a process whose
    /// threads are not running sends none; the barrier is a system call, 2 µs of a 2 MiB
    /// migration). The mask is read after the generation is bumped, and <see cref="AttachCpu"/>
    /// fences after adding a context, before it can walk a page table: a context the flush did not
    /// see walks the changed PTEs.</para>
    /// </remarks>
    public void FlushTlbRange(ulong start, ulong end)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, end);
        var generation = Interlocked.Increment(ref TlbGeneration);
        var cpus = Volatile.Read(ref _cpus);
        Kernel.Counters.Count(MmEvent.TlbFlush);
        if (cpus.Length == 0)
        {
            return;
        }

        Interlocked.MemoryBarrierProcessWide();
        Kernel.Counters.Count(MmEvent.TlbRemoteFlush);
        var waits = 0;
        foreach (var cpu in cpus)
        {
            if (cpu.HasQuiesced(generation))
            {
                continue;
            }

            waits++;
            var spin = default(SpinWait);
            while (!cpu.HasQuiesced(generation))
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        if (waits > 0)
        {
            Kernel.Counters.Count(MmEvent.TlbFlushWait, waits);
        }
    }

    /// <summary>CPU contexts currently running in this address space (<c>mm_cpumask</c>).</summary>
    public int CpuCount => Volatile.Read(ref _cpus).Length;

    internal void AttachCpu(CpuContext cpu)
    {
        using (_cpumaskLock.Enter())
        {
            _cpus = [.. _cpus, cpu];

            // Store-load order against FlushTlbRange: publish before this CPU's first walk.
            Interlocked.MemoryBarrier();
        }
    }

    internal void DetachCpu(CpuContext cpu)
    {
        using (_cpumaskLock.Enter())
        {
            _cpus = [.. _cpus.Where(c => c != cpu)];
        }
    }
}
