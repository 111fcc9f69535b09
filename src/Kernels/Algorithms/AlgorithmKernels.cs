namespace Testbed.Kernels.Algorithms;

/// <summary>
/// The kernels behind the algorithms. They need no group barriers or shared memory (which the
/// generator does not translate yet): work is split into chunks, each processed sequentially by one
/// work item, with a sequential pass over the per-chunk results in between.
/// </summary>
internal static class AlgorithmKernels
{
    /// <summary>Work item <c>i</c> adds every <c>stride</c>-th element from <c>i</c> into the total.</summary>
    [Kernel]
    public static void ReduceStrided(Index1D i, ArrayView<long> input, ArrayView<long> total, int stride)
    {
        var sum = 0L;
        for (long k = i; k < input.Length; k += stride)
        {
            sum += input[k];
        }

        Atomic.Add(ref total[0], sum);
    }

    /// <summary>Chunk <c>c</c>'s sum goes to <c>sums[c]</c>.</summary>
    [Kernel]
    public static void ChunkSums(Index1D c, ArrayView<int> input, ArrayView<int> sums, int chunk)
    {
        var sum = 0;
        var end = System.Math.Min((c + 1) * chunk, input.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            sum += input[k];
        }

        sums[c] = sum;
    }

    /// <summary>One work item turns <c>values</c> into its exclusive prefix sums in place.</summary>
    [Kernel]
    public static void ScanSequential(Index1D i, ArrayView<int> values, int count)
    {
        var running = 0;
        for (var k = 0; k < count; k++)
        {
            var v = values[k];
            values[k] = running;
            running += v;
        }
    }

    /// <summary>Chunk <c>c</c> writes its exclusive prefix sums, starting from <c>offsets[c]</c>.</summary>
    [Kernel]
    public static void ChunkScan(Index1D c, ArrayView<int> input, ArrayView<int> output, ArrayView<int> offsets, int chunk)
    {
        var running = offsets[c];
        var end = System.Math.Min((c + 1) * chunk, input.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            var v = input[k];
            output[k] = running;
            running += v;
        }
    }

    /// <summary>Element <c>i</c> is kept (flag 1) when its value is not zero.</summary>
    [Kernel]
    public static void NonZeroFlags(Index1D i, ArrayView<int> values, ArrayView<int> flags)
    {
        flags[i] = values[i] != 0 ? 1 : 0;
    }

    /// <summary>One work item: how many elements were kept (the last position plus the last flag).</summary>
    [Kernel]
    public static void KeptCount(Index1D i, ArrayView<int> flags, ArrayView<int> positions, ArrayView<int> count)
    {
        var last = flags.IntLength - 1;
        count[0] = last < 0 ? 0 : positions[last] + flags[last];
    }

    /// <summary>A kept element moves to its scanned position.</summary>
    [Kernel]
    public static void Scatter(Index1D i, ArrayView<int> values, ArrayView<int> flags, ArrayView<int> positions, ArrayView<int> output)
    {
        if (flags[i] != 0)
        {
            output[positions[i]] = values[i];
        }
    }

    /// <summary>Chunk <c>c</c> counts its keys' digits into <c>histogram[digit * chunks + c]</c> (digit-major, so one scan orders all).</summary>
    [Kernel]
    public static void DigitHistogram32(Index1D c, ArrayView<uint> keys, ArrayView<int> histogram, int chunk, int chunks, int shift)
    {
        var end = System.Math.Min((c + 1) * chunk, keys.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            var digit = (int)((keys[k] >> shift) & 15u);
            histogram[(digit * chunks) + c] += 1;
        }
    }

    /// <summary>Chunk <c>c</c> moves its keys, in order (so the sort is stable), to their digit's next slot.</summary>
    [Kernel]
    public static void DigitScatter32(Index1D c, ArrayView<uint> keys, ArrayView<uint> output, ArrayView<int> offsets, int chunk, int chunks, int shift)
    {
        var end = System.Math.Min((c + 1) * chunk, keys.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            var key = keys[k];
            var slot = ((int)((key >> shift) & 15u) * chunks) + c;
            output[offsets[slot]] = key;
            offsets[slot] += 1;
        }
    }

    /// <summary><see cref="DigitHistogram32"/> for 64-bit keys.</summary>
    [Kernel]
    public static void DigitHistogram64(Index1D c, ArrayView<ulong> keys, ArrayView<int> histogram, int chunk, int chunks, int shift)
    {
        var end = System.Math.Min((c + 1) * chunk, keys.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            var digit = (int)((keys[k] >> shift) & 15UL);
            histogram[(digit * chunks) + c] += 1;
        }
    }

    /// <summary><see cref="DigitScatter32"/> for 64-bit keys.</summary>
    [Kernel]
    public static void DigitScatter64(Index1D c, ArrayView<ulong> keys, ArrayView<ulong> output, ArrayView<int> offsets, int chunk, int chunks, int shift)
    {
        var end = System.Math.Min((c + 1) * chunk, keys.IntLength);
        for (var k = c * chunk; k < end; k++)
        {
            var key = keys[k];
            var slot = ((int)((key >> shift) & 15UL) * chunks) + c;
            output[offsets[slot]] = key;
            offsets[slot] += 1;
        }
    }
}
