using System.Numerics;
using Testbed.Kernels.Cpu;

using System.Runtime.CompilerServices;

namespace Testbed.Kernels;

/// <summary>
/// Atomic operations for kernels (ILGPU's <c>Atomic</c>): each returns the value the target held
/// before. On the Cpu accelerator they are the CPU's atomics, except on host-mapped memory while
/// the accelerator emulates a non-coherent link (<see cref="INonCoherentLinkEmulation"/>),
/// where they become plain read-modify-writes as across PCIe; the generator maps them to OpenCL's
/// and CUDA's atomics.
/// </summary>
public static class Atomic
{
    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static int Add(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<int, AddOp>(ref target, value) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static uint Add(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<uint, AddOp>(ref target, value) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static long Add(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<long, AddOp>(ref target, value) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static ulong Add(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<ulong, AddOp>(ref target, value) : Interlocked.Add(ref target, value) - value;

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static int Exchange(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<int, ExchangeOp>(ref target, value) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static uint Exchange(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<uint, ExchangeOp>(ref target, value) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static long Exchange(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<long, ExchangeOp>(ref target, value) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static ulong Exchange(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<ulong, ExchangeOp>(ref target, value) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static int CompareExchange(ref int target, int comparand, int value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static uint CompareExchange(ref uint target, uint comparand, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static long CompareExchange(ref long target, long comparand, long value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static ulong CompareExchange(ref ulong target, ulong comparand, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static int Min(ref int target, int value) => Update<int, MinOp>(ref target, value);

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static uint Min(ref uint target, uint value) => Update<uint, MinOp>(ref target, value);

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static long Min(ref long target, long value) => Update<long, MinOp>(ref target, value);

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static ulong Min(ref ulong target, ulong value) => Update<ulong, MinOp>(ref target, value);

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static int Max(ref int target, int value) => Update<int, MaxOp>(ref target, value);

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static uint Max(ref uint target, uint value) => Update<uint, MaxOp>(ref target, value);

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static long Max(ref long target, long value) => Update<long, MaxOp>(ref target, value);

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static ulong Max(ref ulong target, ulong value) => Update<ulong, MaxOp>(ref target, value);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static int And(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<int, AndOp>(ref target, value) : Interlocked.And(ref target, value);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static uint And(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<uint, AndOp>(ref target, value) : Interlocked.And(ref target, value);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static long And(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<long, AndOp>(ref target, value) : Interlocked.And(ref target, value);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static ulong And(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<ulong, AndOp>(ref target, value) : Interlocked.And(ref target, value);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static int Or(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<int, OrOp>(ref target, value) : Interlocked.Or(ref target, value);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static uint Or(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<uint, OrOp>(ref target, value) : Interlocked.Or(ref target, value);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static long Or(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<long, OrOp>(ref target, value) : Interlocked.Or(ref target, value);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static ulong Or(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update<ulong, OrOp>(ref target, value) : Interlocked.Or(ref target, value);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static int Xor(ref int target, int value) => Update<int, XorOp>(ref target, value);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static uint Xor(ref uint target, uint value) => Update<uint, XorOp>(ref target, value);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static long Xor(ref long target, long value) => Update<long, XorOp>(ref target, value);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static ulong Xor(ref ulong target, ulong value) => Update<ulong, XorOp>(ref target, value);

    /// <summary>A compare-and-swap loop applying <typeparamref name="TOp"/> (or a plain read-modify-write on a non-coherent link).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Update<T, TOp>(ref T target, T value)
        where T : unmanaged, IBinaryInteger<T>
        where TOp : struct, IAtomicOp
    {
        if (NonCoherent.Applies(ref target))
        {
            return NonCoherent.Update<T, TOp>(ref target, value);
        }

        var current = target;
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, TOp.Apply(current, value), current);
            if (seen == current)
            {
                return current;
            }

            current = seen;
        }
    }
}
