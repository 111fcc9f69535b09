namespace Testbed.HostMm.Mm;

/// <summary>Page protection of a mapping (<c>PROT_*</c>). <see cref="None"/> forbids every access.</summary>
[Flags]
public enum Prot
{
    /// <summary><c>PROT_NONE</c>.</summary>
    None = 0,

    /// <summary><c>PROT_READ</c>.</summary>
    Read = 1,

    /// <summary><c>PROT_WRITE</c>; as on x86, a writable mapping is also readable.</summary>
    Write = 2,

    /// <summary><c>PROT_READ | PROT_WRITE</c>.</summary>
    ReadWrite = Read | Write,
}
