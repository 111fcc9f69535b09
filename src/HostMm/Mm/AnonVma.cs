using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct anon_vma</c> (mm/rmap.c): the reverse map of a private anonymous mapping. Every VMA
/// that may map its folios — the original, the pieces it was split into, and its copies in forked
/// children — is linked here, and each anonymous folio records the anon_vma and its page index, so
/// eviction and migration find every PTE of a folio from the folio alone, without a VMA lookup.
/// </summary>
/// <remarks>
/// The kernel chains a child's own anon_vma to its parent's; here children link into the parent's,
/// so a walk may visit VMAs that cannot map the folio. The PTE check at each address makes that
/// harmless.
/// </remarks>
internal sealed class AnonVma(SyncDomain sync) : RmapVmas(sync, LockClasses.AnonVma);
