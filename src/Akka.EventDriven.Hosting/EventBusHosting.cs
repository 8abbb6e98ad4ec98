using Akka.Hosting;

namespace Akka.EventDriven.Hosting;

/// <summary>Akka.Hosting wiring of the event bus.</summary>
public static class EventBusHosting
{
    /// <summary>Starts the event bus's durable parts (journaled topic and queue logs, durable consumers) on this node at
    /// start-up, so durable consumers spread over every node that calls this. Call after <c>WithEventDriven</c>; get the
    /// bus with <c>EventBus.Get(system)</c>. The fast path (topics, request-reply) needs no start-up.
    /// <code>
    /// services.AddAkka("intelops", b =&gt; b.WithEventDriven(o =&gt; { ... }).WithEventBus());
    /// </code></summary>
    public static AkkaConfigurationBuilder WithEventBus(this AkkaConfigurationBuilder builder)
    {
        builder.AddStartup(async (system, _) => await EventBus.EventBus.Get(system).StartAsync());
        return builder;
    }
}
