# @summary Raises the kernel's inotify limits that Envoy's watched configuration files need.
#
# Writes `/etc/sysctl.d/60-envoy-agent.conf` (applied at boot by systemd-sysctl; it replaces the
# package's `/usr/lib/sysctl.d/60-envoy-agent.conf`, which has the same name) and raises each running
# value that is lower than the file's. A larger running value is never lowered, nothing else is
# applied (no `sysctl --system`), and a read-only `/proc/sys` (a container) is left alone.
#
# @api private
class envoy_agent::sysctl {
  assert_private()

  if $envoy_agent::manage_inotify_sysctl {
    $limits = {
      'fs.inotify.max_user_instances' => $envoy_agent::inotify_max_user_instances,
      'fs.inotify.max_user_watches'   => $envoy_agent::inotify_max_user_watches,
    }

    $file = '/etc/sysctl.d/60-envoy-agent.conf'
    file { $file:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => epp('envoy_agent/sysctl.conf.epp', { 'limits' => $limits }),
    }

    # Only when the running value is lower and /proc/sys is writable: never lowers, never fails in
    # a container. Puppet reports a change only when a value was raised.
    $limits.each |$key, $value| {
      $proc = "/proc/sys/${key.regsubst('\.', '/', 'G')}"
      exec { "envoy_agent raise ${key}":
        command  => "echo ${value} > ${proc}",
        onlyif   => "test -w ${proc} && test \"$(cat ${proc})\" -lt ${value}",
        provider => 'shell',
        path     => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'],
        require  => File[$file],
      }
    }
  }
}
