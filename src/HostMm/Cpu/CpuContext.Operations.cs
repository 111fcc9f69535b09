using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Cpu;

public sealed unsafe partial class CpuContext
{
    /// <summary>
    /// Loads a 1-, 2-, 4- or 8-byte value. An unaligned value that crosses a page is read in two
    /// parts, each page translated on its own (not atomically, as on hardware).
    /// </summary>
    public Errno Read<T>(ulong va, out T value)
        where T : unmanaged
    {
        CheckScalar<T>();
        if (CrossesPage(va, sizeof(T)))
        {
            value = default;
            return ReadBytes(va, new Span<byte>(Unsafe.AsPointer(ref value), sizeof(T)));
        }

        var op = default(LoadOp<T>);
        var err = Access(va, write: false, ref op);
        value = op.Value;
        return err;
    }

    /// <summary>Stores a 1-, 2-, 4- or 8-byte value; one that crosses a page is written in two parts.</summary>
    public Errno Write<T>(ulong va, T value)
        where T : unmanaged
    {
        CheckScalar<T>();
        if (CrossesPage(va, sizeof(T)))
        {
            return WriteBytes(va, new ReadOnlySpan<byte>(&value, sizeof(T)));
        }

        var op = new StoreOp<T>(value);
        return Access(va, write: true, ref op);
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="va"/>, page by page; on error, the bytes before the failing page have been read.</summary>
    public Errno ReadBytes(ulong va, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var n = ChunkInPage(va, destination.Length);
            var op = new CopyOutOp(destination[..n]);
            var err = Access(va, write: false, ref op);
            if (err != Errno.Ok)
            {
                return err;
            }

            va += (ulong)n;
            destination = destination[n..];
        }

        return Errno.Ok;
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="va"/>, page by page; on error, the bytes before the failing page have been written.</summary>
    public Errno WriteBytes(ulong va, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            var n = ChunkInPage(va, source.Length);
            var op = new CopyInOp(source[..n]);
            var err = Access(va, write: true, ref op);
            if (err != Errno.Ok)
            {
                return err;
            }

            va += (ulong)n;
            source = source[n..];
        }

        return Errno.Ok;
    }

    /// <summary>Atomically adds <paramref name="delta"/> to the aligned 32-bit word at <paramref name="va"/>; <paramref name="newValue"/> is the sum.</summary>
    public Errno AtomicAdd(ulong va, int delta, out int newValue)
    {
        var op = new AddOp32(delta);
        var err = (va & 3) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        newValue = op.Result;
        return err;
    }

    /// <summary>Atomically adds <paramref name="delta"/> to the aligned 64-bit word at <paramref name="va"/>; <paramref name="newValue"/> is the sum.</summary>
    public Errno AtomicAdd(ulong va, long delta, out long newValue)
    {
        var op = new AddOp64(delta);
        var err = (va & 7) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        newValue = op.Result;
        return err;
    }

    /// <summary>Atomically stores <paramref name="value"/> in the aligned 32-bit word; <paramref name="original"/> is what it held.</summary>
    public Errno Exchange(ulong va, int value, out int original)
    {
        var op = new ExchangeOp32(value);
        var err = (va & 3) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        original = op.Result;
        return err;
    }

    /// <summary>Atomically stores <paramref name="value"/> in the aligned 64-bit word; <paramref name="original"/> is what it held.</summary>
    public Errno Exchange(ulong va, long value, out long original)
    {
        var op = new ExchangeOp64(value);
        var err = (va & 7) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        original = op.Result;
        return err;
    }

    /// <summary>
    /// Atomically stores <paramref name="value"/> in the aligned 32-bit word if it holds
    /// <paramref name="comparand"/>; <paramref name="original"/> is what it held. Needs write
    /// permission even when the comparison fails, as a locked cmpxchg does.
    /// </summary>
    public Errno CompareExchange(ulong va, int value, int comparand, out int original)
    {
        var op = new CompareExchangeOp32(value, comparand);
        var err = (va & 3) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        original = op.Result;
        return err;
    }

    /// <summary>The 64-bit <see cref="CompareExchange(ulong, int, int, out int)"/>.</summary>
    public Errno CompareExchange(ulong va, long value, long comparand, out long original)
    {
        var op = new CompareExchangeOp64(value, comparand);
        var err = (va & 7) != 0 ? Errno.EINVAL : Access(va, write: true, ref op);
        original = op.Result;
        return err;
    }

    private static void CheckScalar<T>()
        where T : unmanaged
    {
        if (sizeof(T) is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentException($"CpuContext: {typeof(T).Name} is {sizeof(T)} bytes; scalar accesses are 1, 2, 4 or 8 bytes (use ReadBytes/WriteBytes).");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CrossesPage(ulong va, int size) => (va & _offsetMask) + (ulong)size > _offsetMask + 1;

    private int ChunkInPage(ulong va, int remaining) => (int)Math.Min((ulong)remaining, _offsetMask + 1 - (va & _offsetMask));
}
