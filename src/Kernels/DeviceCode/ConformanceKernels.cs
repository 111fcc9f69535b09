using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// The conformance kernels: each runs on every available accelerator with the same expected result
/// (the implicitly grouped ones on all; <see cref="GroupSums"/>, which needs explicit groups, on ILGPU's
/// accelerators only), and each is compiled to PTX and OpenCL C in CI.
/// </summary>
public static class ConformanceKernels
{
    /// <summary><c>output[i] = input[i] * scale + 1</c>.</summary>
    public static void Map(Index1D i, ArrayView<int> input, ArrayView<int> output, int scale)
    {
        output[i] = (input[i] * scale) + 1;
    }

    /// <summary>Work item <c>i</c> adds 1 to counters <c>i .. i + perItem - 1</c> (wrapping).</summary>
    public static void Count(Index1D i, ArrayView<int> counters, int perItem)
    {
        for (var k = 0; k < perItem; k++)
        {
            Atomic.Add(ref counters[(i.X + k) % counters.IntLength], 1);
        }
    }

    /// <summary>Counts <c>values</c> into <c>bins</c> by remainder.</summary>
    public static void Histogram(Index1D i, ArrayView<uint> values, ArrayView<int> bins)
    {
        Atomic.Add(ref bins[(int)(values[i] % (uint)bins.IntLength)], 1);
    }

    /// <summary>A compare-and-swap loop that leaves the largest value in <c>max[0]</c>.</summary>
    public static void CasMax(Index1D i, ArrayView<int> values, ArrayView<int> max)
    {
        var v = values[i];
        var seen = max[0];
        while (seen < v)
        {
            var old = Atomic.CompareExchange(ref max[0], seen, v);
            if (old == seen)
            {
                break;
            }

            seen = old;
        }
    }

    /// <summary>64-bit atomic adds.</summary>
    public static void WideAdd(Index1D i, ArrayView<long> sum, long step)
    {
        Atomic.Add(ref sum[0], step);
    }

    /// <summary><c>output[i] = i * i - i</c>, through a device function.</summary>
    public static void CallsDeviceFunction(Index1D i, ArrayView<int> output)
    {
        output[i] = Square(i.X) - i.X;
    }

    /// <summary>Every other atomic: min, max, or, and, xor, exchange.</summary>
    public static void AllAtomics(Index1D i, ArrayView<long> cells, ArrayView<uint> ucells)
    {
        Atomic.Min(ref cells[0], -(long)i.X);
        Atomic.Max(ref cells[1], i.X);
        Atomic.Or(ref ucells[0], 1u << (i.X % 32));
        Atomic.And(ref ucells[1], ~(1u << (i.X % 32)));
        Atomic.Xor(ref ucells[2], 1u << (i.X % 32));
        Atomic.Exchange(ref cells[2], 7L);
    }

    /// <summary>
    /// Adds 1 to <c>words[0]</c> across <paramref name="link"/>: the emulated non-coherent link's read,
    /// delay and write when it is on, the device's own atomic when it is off.
    /// </summary>
    public static void LinkedAdds(Index1D i, LinkEmulation link, ArrayView<int> words)
    {
        if (link.IsEmulated)
        {
            link.Add(ref words[0], 0, 1);
        }
        else
        {
            Atomic.Add(ref words[0], 1);
        }
    }

    /// <summary>
    /// An explicitly grouped kernel: each group sums its elements in shared memory behind a barrier
    /// and adds the sum to <c>sums[group]</c>. The direct cpu runner cannot run it; ILGPU's can.
    /// </summary>
    public static void GroupSums(ArrayView<int> input, ArrayView<int> sums)
    {
        var total = SharedMemory.Allocate<int>(1);
        if (Group.IsFirstThread)
        {
            total[0] = 0;
        }

        Group.Barrier();
        var global = Grid.GlobalIndex.X;
        if (global < input.Length)
        {
            Atomic.Add(ref total[0], input[global]);
        }

        Group.Barrier();
        if (Group.IsFirstThread)
        {
            sums[Grid.IdxX] = total[0];
        }
    }

    /// <summary>An implicitly grouped kernel that still needs a group barrier: the direct cpu runner refuses it when it loads.</summary>
    public static void BarrierInImplicitGroup(Index1D i, ArrayView<int> output)
    {
        output[i] = i.X;
        Group.Barrier();
    }

    private static int Square(int x) => x * x;
}
