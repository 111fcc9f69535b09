using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>Kernels the ratio suite compares the mirror's kernels with.</summary>
public static class BenchmarkKernels
{
    /// <summary>
    /// The adds of <see cref="MirrorWorkload.DeviceOps"/> — the same items, operations and word
    /// sequence, from the same <see cref="DeviceWork"/> — straight on a plain buffer: no page table,
    /// no fault buffer, no progress counter. The baseline for translation's cost.
    /// </summary>
    public static void PlainAdds(Index1D i, ArrayView<int> words, DeviceWork work)
    {
        for (var done = 0; done < work.OpsPerItem; done++)
        {
            var sequence = i.X + ((long)done * work.Items);
            Atomic.Add(ref words[work.FirstWord + ((sequence * work.Stride) % work.Span)], work.Value);
        }
    }

    /// <summary>Work item <c>i</c> adds 1 to counter <c>i mod counters</c>, <paramref name="perItem"/> times: raw atomic throughput, contention set by the number of counters.</summary>
    public static void AddToCounters(Index1D i, ArrayView<int> counters, int perItem)
    {
        var slot = i.X % counters.IntLength;
        for (var k = 0; k < perItem; k++)
        {
            Atomic.Add(ref counters[slot], 1);
        }
    }
}
