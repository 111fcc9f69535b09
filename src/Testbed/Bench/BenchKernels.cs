using Testbed.Driver;
using Testbed.Kernels;

namespace Testbed.Bench;

/// <summary>Kernels the ratio suite compares the driver's kernels with.</summary>
public static class BenchKernels
{
    /// <summary>The config <see cref="PlainAdds"/> reads for the adds of <paramref name="work"/>.</summary>
    public static int[] PlainAddsConfig(DeviceWork work)
    {
        var config = new int[DeviceAccess.ConfigLength];
        config[DeviceAccess.ConfigItems] = work.Items;
        config[DeviceAccess.ConfigOpsPerItem] = work.OpsPerItem;
        config[DeviceAccess.ConfigFirstWord] = checked((int)work.FirstWord);
        config[DeviceAccess.ConfigSpan] = checked((int)work.Span);
        config[DeviceAccess.ConfigStride] = checked((int)work.Stride);
        config[DeviceAccess.ConfigValue] = work.Value;
        return config;
    }

    /// <summary>
    /// The adds of <see cref="MirrorKernels.DeviceOps"/> — the same items, operations and word
    /// sequence, from the same config — straight on a plain buffer: no page table, no fault
    /// buffer, no progress counter. The baseline for translation's cost.
    /// </summary>
    [Kernel]
    public static void PlainAdds(Index1D i, ArrayView<int> words, ArrayView<int> config)
    {
        var items = config[DeviceAccess.ConfigItems];
        var total = config[DeviceAccess.ConfigOpsPerItem];
        var first = (long)config[DeviceAccess.ConfigFirstWord];
        var span = (long)config[DeviceAccess.ConfigSpan];
        var stride = (long)config[DeviceAccess.ConfigStride];
        var value = config[DeviceAccess.ConfigValue];
        for (var done = 0; done < total; done++)
        {
            var sequence = (long)i + ((long)done * items);
            Atomic.Add(ref words[first + ((sequence * stride) % span)], value);
        }
    }
}
