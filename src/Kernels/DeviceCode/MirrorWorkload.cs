using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// The workload kernel every scenario's device runs. Work item <c>i</c> performs operations
/// <c>k = done .. OpsPerItem - 1</c> of <see cref="DeviceWork"/> on word
/// <c>FirstWord + ((i + k * Items) * Stride) mod Span</c> through <see cref="DeviceMirror"/>; it stops
/// at the first fault or after the launch's limit of operations, and records its progress, so a replay
/// resumes exactly where the item stopped and every operation is applied exactly once (DESIGN §4.2).
/// </summary>
public static class MirrorWorkload
{
    /// <summary>The workload: adds, loads into <paramref name="data"/>[i + k * items], or stores from it.</summary>
    public static void DeviceOps(Index1D i, DeviceMirror mirror, DeviceWork work, ArrayView<int> data)
    {
        var done = mirror.Resume(i, work.OpsPerItem);
        if (done < 0)
        {
            return;
        }

        var limit = mirror.LaunchLimit(done, work.OpsPerItem);
        var status = DeviceMirror.Applied;
        while (done < limit)
        {
            var sequence = i.X + ((long)done * work.Items);
            var word = work.FirstWord + ((sequence * work.Stride) % work.Span);
            if (work.Op == DeviceWork.OpAdd)
            {
                status = mirror.Add(word, work.Value);
            }
            else if (work.Op == DeviceWork.OpLoad)
            {
                var value = mirror.Load(word);
                status = DeviceMirror.StatusOf(value);
                if (status == DeviceMirror.Applied)
                {
                    data[sequence] = (int)value;
                }
            }
            else
            {
                status = mirror.Store(word, data[sequence]);
            }

            if (status != DeviceMirror.Applied)
            {
                break;
            }

            done++;
        }

        mirror.Suspend(i, done, work.OpsPerItem, status);
    }
}
