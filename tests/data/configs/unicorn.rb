# Sample verbose configuration file for Unicorn (not Rack)
worker_processes 4
working_directory "/path/to/app/current" # available in 0.94.0+
listen "/path/to/.unicorn.sock", :backlog => 64
listen 8080, :tcp_nopush => true
timeout 30
pid "/path/to/app/shared/pids/unicorn.pid"
stderr_path "/path/to/app/shared/log/unicorn.stderr.log"
stdout_path "/path/to/app/shared/log/unicorn.stdout.log"
preload_app true
before_fork do |server, worker|
  defined?(ActiveRecord::Base) and
    ActiveRecord::Base.connection.disconnect!
end
