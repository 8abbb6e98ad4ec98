using Akka.Hosting;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Hosting;

/// <summary>Akka.Hosting wiring of the event bus.</summary>
public static class EventBusHosting
{
    /// <summary>Starts the event bus's durable parts (journaled topic and queue logs, durable consumers) on this node at
    /// start-up, so durable consumers spread over every node that calls this. Call after <c>WithEventDriven</c>; get the
    /// bus with <c>MessageBus.Get(system)</c>. The fast path (topics, request-reply) needs no start-up.
    /// <code>
    /// services.AddAkka("intelops", b =&gt; b.WithEventDriven(o =&gt; { ... }).WithEventBus());
    /// </code></summary>
    /// <param name="builder">The Akka configuration builder.</param>
    /// <param name="hostDurableConsumers">False: this node only uses the fast path and request-reply, and hosts no
    /// durable logs or consumers (they start on first durable use from this node).</param>
    public static AkkaConfigurationBuilder WithEventBus(this AkkaConfigurationBuilder builder, bool hostDurableConsumers = true)
    {
        builder.AddStartup(async (system, _) =>
        {
            var bus = MessageBus.Get(system);
            if (hostDurableConsumers) await bus.StartAsync();
        });
        return builder;
    }
}
