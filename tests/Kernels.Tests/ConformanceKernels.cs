namespace Testbed.Kernels.Tests;

/// <summary>The conformance kernels: each runs on every available backend with the same expected result.</summary>
public static class ConformanceKernels
{
    [Kernel]
    public static void Map(Index1D i, ArrayView<int> input, ArrayView<int> output, int scale)
    {
        output[i] = (input[i] * scale) + 1;
    }

    [Kernel]
    public static void Count(Index1D i, ArrayView<int> counters, int perItem)
    {
        for (var k = 0; k < perItem; k++)
        {
            Atomic.Add(ref counters[(i + k) % counters.IntLength], 1);
        }
    }

    [Kernel]
    public static void Histogram(Index1D i, ArrayView<uint> values, ArrayView<int> bins)
    {
        Atomic.Add(ref bins[(int)(values[i] % (uint)bins.IntLength)], 1);
    }

    [Kernel]
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

    [Kernel]
    public static void WideAdd(Index1D i, ArrayView<long> sum, long step)
    {
        Atomic.Add(ref sum[0], step);
    }

    [DeviceFunction]
    public static int Square(int x) => x * x;

    [Kernel]
    public static void CallsDeviceFunction(Index1D i, ArrayView<int> output)
    {
        output[i] = Square(i) - i;
    }

    [Kernel]
    public static void AllAtomics(Index1D i, ArrayView<long> cells, ArrayView<uint> ucells)
    {
        Atomic.Min(ref cells[0], -(long)i);
        Atomic.Max(ref cells[1], (long)i);
        Atomic.Or(ref ucells[0], 1u << (i % 32));
        Atomic.And(ref ucells[1], ~(1u << (i % 32)));
        Atomic.Xor(ref ucells[2], 1u << (i % 32));
        Atomic.Exchange(ref cells[2], 7L);
    }

    [Kernel]
    public static void GroupIndices(Index1D i, ArrayView<int> groupIdx, ArrayView<int> groupDim, ArrayView<int> localIdx)
    {
        groupIdx[i] = Grid.IdxX;
        groupDim[i] = Group.DimX;
        localIdx[i] = Group.IdxX;
    }
}
