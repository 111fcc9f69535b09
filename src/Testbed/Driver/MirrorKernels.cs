using Testbed.Kernels;

namespace Testbed.Driver;

/// <summary>
/// The workload kernel every mirror launch runs. Work item <c>i</c> performs operations
/// <c>k = progress[i] .. opsPerItem - 1</c> on word
/// <c>first + ((i + k * items) * stride) mod span</c> through <see cref="DeviceAccess"/>; it stops at
/// the first fault or after <c>opsPerLaunch</c> operations, and writes its progress back. An
/// operation and its progress update happen in the same launch, so a replay resumes exactly where the
/// item stopped and every operation is applied exactly once (DESIGN §4.2). An item that reaches a page
/// with a fatal fault is cancelled: its progress becomes <c>-1 - done</c> (so a replay skips it and
/// the driver can still tell how far it got) and it is counted in <c>ControlItemsCancelled</c>.
/// </summary>
public static class MirrorKernels
{
    /// <summary>The workload: adds, loads into <paramref name="data"/>[i + k * items], or stores from it.</summary>
    [Kernel]
    public static void DeviceOps(Index1D i, ArrayView<uint> pt, ArrayView<int> sys, ArrayView<int> dev, ArrayView<int> control, ArrayView<int> data, ArrayView<int> config)
    {
        var items = config[DeviceAccess.ConfigItems];
        var total = config[DeviceAccess.ConfigOpsPerItem];
        var progressAt = DeviceAccess.ControlFaults + config[DeviceAccess.ConfigFaultCapacity] + i;
        var done = control[progressAt];
        if (done >= total || done < 0)
        {
            return;
        }

        var limit = System.Math.Min(total, done + config[DeviceAccess.ConfigOpsPerLaunch]);
        var op = config[DeviceAccess.ConfigOp];
        var first = (long)config[DeviceAccess.ConfigFirstWord];
        var span = (long)config[DeviceAccess.ConfigSpan];
        var stride = (long)config[DeviceAccess.ConfigStride];
        var cancelled = 0;
        while (done < limit)
        {
            var sequence = (long)i + ((long)done * items);
            var word = first + ((sequence * stride) % span);
            var ok = 0;
            if (op == DeviceAccess.OpAdd)
            {
                ok = DeviceAccess.AddTranslated(pt, sys, dev, control, config, word, config[DeviceAccess.ConfigValue]);
            }
            else if (op == DeviceAccess.OpLoad)
            {
                var value = DeviceAccess.LoadTranslated(pt, sys, dev, control, config, word);
                if (value >= 0)
                {
                    data[sequence] = (int)value;
                    ok = 1;
                }
                else if (value == -2)
                {
                    ok = -1;
                }
            }
            else
            {
                ok = DeviceAccess.StoreTranslated(pt, sys, dev, control, config, word, data[sequence]);
            }

            if (ok <= 0)
            {
                cancelled = ok < 0 ? 1 : 0;
                break;
            }

            done++;
        }

        if (cancelled != 0)
        {
            control[progressAt] = -1 - done;
            Atomic.Add(ref control[DeviceAccess.ControlItemsCancelled], 1);
        }
        else
        {
            control[progressAt] = done;
            if (done == total)
            {
                Atomic.Add(ref control[DeviceAccess.ControlItemsDone], 1);
            }
        }
    }
}
