using Akka.Actor;
using Akka.Cluster;
using Akka.EventDriven.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Akka.EventDriven.Http.Internal;

/// <summary>Ready when the event store's database answers a query within 2 s.</summary>
internal sealed class JournalHealthCheck(ActorSystem system) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var store = StoreSettings.FromConfig(system.Settings.Config);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await store.PingAsync(timeout.Token);
            return HealthCheckResult.Healthy($"{store.Provider} answers");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy($"The event store ({store.Provider}) does not answer: {e.GetBaseException().Message}");
        }
    }
}

/// <summary>Ready when this node is Up in the cluster (Akka Management's <c>/ready</c>).</summary>
internal sealed class ClusterHealthCheck(ActorSystem system) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var cluster = Cluster.Cluster.Get(system);
        var status = cluster.SelfMember.Status;
        return Task.FromResult(status == MemberStatus.Up
            ? HealthCheckResult.Healthy($"{cluster.SelfAddress} is Up")
            : HealthCheckResult.Unhealthy($"{cluster.SelfAddress} is {status}, not Up"));
    }
}
