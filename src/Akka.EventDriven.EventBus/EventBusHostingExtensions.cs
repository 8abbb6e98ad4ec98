using Akka.Hosting;

namespace Akka.EventDriven.EventBus;

/// <summary>Akka.Hosting wiring of the event bus.</summary>
public static class EventBusHostingExtensions
{
    /// <summary>Adds the bus's options over its defaults and, at start-up, starts its durable parts on this node (see
    /// <see cref="EventBusOptions.HostDurableConsumers"/>). Call after <c>WithEventDriven</c>; get the bus with
    /// <c>MessageBus.Get(system)</c>. The fast path (topics, request-reply) needs no start-up.
    /// <code>
    /// services.AddAkka("intelops", b =&gt; b.WithEventDriven(o =&gt; { ... }).WithEventBus(bus =&gt; bus.MaxRetries = 5));
    /// </code></summary>
    /// <exception cref="Akka.Configuration.ConfigurationException">An option's value is invalid; the message names its key.</exception>
    public static AkkaConfigurationBuilder WithEventBus(this AkkaConfigurationBuilder builder, Action<EventBusOptions>? configure = null)
    {
        var options = new EventBusOptions();
        configure?.Invoke(options);
        var hocon = options.ToHocon();
        // Fail here, naming the option, rather than when the bus first starts.
        BusSettings.FromConfig(Akka.Configuration.ConfigurationFactory.ParseString(hocon).WithFallback(EventBusConfig.DefaultConfig()));
        builder.AddHocon(hocon, HoconAddMode.Prepend);
        builder.AddStartup(async (system, _) =>
        {
            var bus = MessageBus.Get(system);
            if (options.HostDurableConsumers) await bus.StartAsync();
        });
        return builder;
    }
}
