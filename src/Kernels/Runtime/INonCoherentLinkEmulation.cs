namespace Testbed.Kernels;

/// <summary>
/// An accelerator that can emulate a link without host-native atomics (PCIe rather than NVLink-C2C
/// or CXL): while on, kernel atomics whose target lies in a host-mapped buffer are plain
/// read-modify-writes with a delay between read and write, so a CPU atomic racing them can be lost.
/// Without it the exclusivity check could never fail on a CI machine, and a check that cannot fail
/// proves nothing. The Cpu and OpenCl accelerators implement it; Cuda reports the real link instead.
/// </summary>
public interface INonCoherentLinkEmulation
{
    /// <summary>Whether atomics on host-mapped memory cross the emulated non-coherent link. Off by default.</summary>
    bool NonCoherentHostAtomics { get; set; }

    /// <summary>The emulated link's round trip between the read and the write, in the backend's spin iterations.</summary>
    int NonCoherentLinkDelaySpins { get; set; }
}
