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
    public static int Add(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (a, b) => a + b) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static uint Add(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (a, b) => a + b) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static long Add(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (a, b) => a + b) : Interlocked.Add(ref target, value) - value;

    /// <summary>Adds <paramref name="value"/>; returns the old value.</summary>
    public static ulong Add(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (a, b) => a + b) : Interlocked.Add(ref target, value) - value;

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static int Exchange(ref int target, int value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (_, b) => b) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static uint Exchange(ref uint target, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (_, b) => b) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static long Exchange(ref long target, long value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (_, b) => b) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/>; returns the old value.</summary>
    public static ulong Exchange(ref ulong target, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.Update(ref target, value, static (_, b) => b) : Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static int CompareExchange(ref int target, int comparand, int value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static uint CompareExchange(ref uint target, uint comparand, uint value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static long CompareExchange(ref long target, long comparand, long value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores <paramref name="value"/> if the target holds <paramref name="comparand"/>; returns the old value.</summary>
    public static ulong CompareExchange(ref ulong target, ulong comparand, ulong value) => NonCoherent.Applies(ref target) ? NonCoherent.CompareExchange(ref target, comparand, value) : Interlocked.CompareExchange(ref target, value, comparand);

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static int Min(ref int target, int value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static uint Min(ref uint target, uint value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static long Min(ref long target, long value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the minimum; returns the old value.</summary>
    public static ulong Min(ref ulong target, ulong value) => Update(ref target, value, static (a, b) => Math.Min(a, b));

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static int Max(ref int target, int value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static uint Max(ref uint target, uint value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static long Max(ref long target, long value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Stores the maximum; returns the old value.</summary>
    public static ulong Max(ref ulong target, ulong value) => Update(ref target, value, static (a, b) => Math.Max(a, b));

    /// <summary>Bitwise and; returns the old value.</summary>
    public static int And(ref int target, int value) => Update(ref target, value, static (a, b) => a & b);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static uint And(ref uint target, uint value) => Update(ref target, value, static (a, b) => a & b);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static long And(ref long target, long value) => Update(ref target, value, static (a, b) => a & b);

    /// <summary>Bitwise and; returns the old value.</summary>
    public static ulong And(ref ulong target, ulong value) => Update(ref target, value, static (a, b) => a & b);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static int Or(ref int target, int value) => Update(ref target, value, static (a, b) => a | b);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static uint Or(ref uint target, uint value) => Update(ref target, value, static (a, b) => a | b);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static long Or(ref long target, long value) => Update(ref target, value, static (a, b) => a | b);

    /// <summary>Bitwise or; returns the old value.</summary>
    public static ulong Or(ref ulong target, ulong value) => Update(ref target, value, static (a, b) => a | b);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static int Xor(ref int target, int value) => Update(ref target, value, static (a, b) => a ^ b);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static uint Xor(ref uint target, uint value) => Update(ref target, value, static (a, b) => a ^ b);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static long Xor(ref long target, long value) => Update(ref target, value, static (a, b) => a ^ b);

    /// <summary>Bitwise exclusive or; returns the old value.</summary>
    public static ulong Xor(ref ulong target, ulong value) => Update(ref target, value, static (a, b) => a ^ b);

    /// <summary>A compare-and-swap loop applying <paramref name="op"/> (or a plain read-modify-write on a non-coherent link).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Update<T>(ref T target, T value, Func<T, T, T> op)
        where T : unmanaged, IEquatable<T>
    {
        if (NonCoherent.Applies(ref target))
        {
            return NonCoherent.Update(ref target, value, op);
        }

        var current = target;
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, op(current, value), current);
            if (seen.Equals(current))
            {
                return current;
            }

            current = seen;
        }
    }
}
