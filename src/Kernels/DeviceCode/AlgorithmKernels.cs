using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>The small kernels around ILGPU.Algorithms' reduce, sort and unique (<c>Algorithms/</c>).</summary>
public static class AlgorithmKernels
{
    /// <summary><c>output[i] = input[i]</c>, widened to 64 bits so a sum of many words cannot wrap.</summary>
    public static void Widen(Index1D i, ArrayView<int> input, ArrayView<long> output)
    {
        output[i] = input[i];
    }

    /// <summary>
    /// Flips the access bits of fault record <c>i</c> (<c>page * 4 + access</c>, access 0..2): an
    /// ascending sort then puts the strongest access of each page first, where a unique pass keeps it.
    /// Applying it twice restores the records.
    /// </summary>
    public static void FlipAccess(Index1D i, ArrayView<int> records)
    {
        records[i] ^= 3;
    }
}
