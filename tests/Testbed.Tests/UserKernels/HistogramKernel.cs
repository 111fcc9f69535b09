using ILGPU;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests.UserKernels;

/// <summary>
/// A user's own ILGPU kernel, written outside <c>src/</c> against the public <see cref="DeviceMirror"/>:
/// a histogram into bins that live in mirrored memory, which the CPU shares. Work item <c>i</c> files
/// its <c>perItem</c> samples; sample <c>k</c> adds 1 to the bin word <c>samples[i * perItem + k] * binStride</c>.
/// It follows the mirror's progress protocol, so however often its faults make the driver replay it,
/// each sample is counted once.
/// </summary>
public static class HistogramKernel
{
    /// <summary>The kernel.</summary>
    public static void Histogram(Index1D i, DeviceMirror mirror, ArrayView<int> samples, int perItem, int binStride)
    {
        var done = mirror.Resume(i, perItem);
        if (done < 0)
        {
            return;
        }

        var limit = mirror.LaunchLimit(done, perItem);
        var status = DeviceMirror.Applied;
        while (done < limit)
        {
            var bin = samples[(i.X * perItem) + done];
            status = mirror.Add((long)bin * binStride, 1);
            if (status != DeviceMirror.Applied)
            {
                break;
            }

            done++;
        }

        mirror.Suspend(i, done, perItem, status);
    }

    /// <summary>A buggy variant: it files one sample past the mirrored range.</summary>
    public static void OutOfRange(Index1D i, DeviceMirror mirror, int perItem)
    {
        var done = mirror.Resume(i, perItem);
        if (done < 0)
        {
            return;
        }

        var status = mirror.Add(mirror.Words + i.X, 1);
        mirror.Suspend(i, status == DeviceMirror.Applied ? perItem : done, perItem, status);
    }
}
